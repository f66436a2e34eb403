using System.Text.Json.Nodes;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Tuning.PromptTuning;
using SoftPrompt.Tests.Support;
using Xunit;

namespace SoftPrompt.Tests.Tuning;

public class TaskDefinitionTests
{
    private static string Folder(string? json)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"task-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        if (json is not null) File.WriteAllText(Path.Combine(dir, TaskDefinition.FileName), json);
        return dir;
    }

    [Fact]
    public void A_task_json_defines_template_verbalizer_and_label_field()
    {
        string dir = Folder("""
            {"kind": "classification", "template": "Mail: {body}\nQuestion: Is it spam?\nAnswer:",
             "verbalizer": {"spam": " yes", "ham": " no"}, "label_field": "kind",
             "cloze_template": "Mail: {body} Spam? [MASK]."}
            """);
        var task = TaskDefinition.LoadClassification(dir, "mail");
        Assert.Equal("mail", task.Name);
        Assert.Equal(new[] { "spam", "ham" }, task.Labels);
        Assert.Equal(" no", task.Verbalizer["ham"]);
        Assert.Equal("kind", task.LabelField);
        var example = new LabeledExample(new Dictionary<string, string> { ["body"] = "Win now", ["kind"] = "spam" },
            "spam");
        Assert.Equal("Mail: Win now\nQuestion: Is it spam?\nAnswer:", task.Render(example));
        Assert.Equal("Mail: Win now Spam? [MASK].", task.AsCloze().Render(example));
        // and back: the JSON an adapter keeps reads as the same task
        var again = Assert.IsType<ClassificationTask>(TaskDefinition.FromJson(TaskDefinition.ToJson(task), "mail",
            "copy"));
        Assert.Equal(task.Template, again.Template);
        Assert.Equal(task.Verbalizer, again.Verbalizer);
        Assert.Equal(task.ClozeTemplate, again.ClozeTemplate);
    }

    [Fact]
    public void A_folder_without_task_json_is_refused_naming_the_file_it_needs()
    {
        string dir = Folder(null);
        var error = Assert.Throws<InvalidDataException>(() => TaskDefinition.Load(dir, "t"));
        Assert.Contains(dir, error.Message);
        Assert.Contains(TaskDefinition.FileName, error.Message);
    }

    [Theory]
    [InlineData("food-reviews", "classification")]
    [InlineData("brown-genre", "classification")]
    [InlineData("spam", "classification")]
    [InlineData("wordnet-gloss", "generation")]
    [InlineData("brown-pos", "tagging")]
    public void Every_shipped_task_is_defined_by_its_task_json_and_reads_back_the_same(string name, string kind)
    {
        var task = RepositoryData.Task(name);
        Assert.Equal(kind, task.Kind);
        Assert.Equal(name, task.Name);
        var again = TaskDefinition.FromJson(TaskDefinition.ToJson(task), name, "copy");
        Assert.Equal(TaskDefinition.ToJson(task).ToJsonString(), TaskDefinition.ToJson(again).ToJsonString());
    }

    [Fact]
    public void Generation_and_tagging_tasks_read_their_templates_fields_and_defaults()
    {
        var generation = Assert.IsType<GenerationTask>(TaskDefinition.Load(
            Folder("""
                {"kind": "generation", "template": "{term} [{lang}]:", "target_template": " {meaning}",
                 "defaults": {"lang": "en"}}
                """), "g"));
        var example = new TextExample(new Dictionary<string, string> { ["term"] = "dog", ["lang"] = "en",
            ["meaning"] = "an animal" });
        Assert.Equal("dog [en]:", generation.Render(example));
        Assert.Equal(" an animal", generation.Target(example));
        Assert.Equal("en", generation.Defaults["lang"]);
        var tagging = Assert.IsType<TaggingTask>(TaskDefinition.Load(
            Folder("""{"kind": "tagging", "tags": ["A", "B"], "tokens_field": "words", "tags_field": "labels"}"""),
            "t"));
        Assert.Equal(new[] { "A", "B" }, tagging.Tags);
        string rows = Path.Combine(Folder(null), "rows.jsonl");
        File.WriteAllText(rows, """{"words": ["x", "y"], "labels": ["A", "B"]}""" + "\n");
        Assert.Equal(new[] { "x", "y" }, tagging.ReadSplit(rows)[0].Words);
        var wrongKind = Assert.Throws<InvalidDataException>(() => TaskDefinition.LoadClassification(
            Folder("""{"kind": "tagging", "tags": ["A", "B"]}"""), "t"));
        Assert.Contains("is a tagging task", wrongKind.Message);
    }

    [Theory]
    [InlineData("""{"template": "{text}", "verbalizer": {"a": " x"}}""", "at least two")]
    [InlineData("""{"verbalizer": {"a": " x", "b": " y"}}""", "no \"template\"")]
    [InlineData("""{"template": "no slot", "verbalizer": {"a": " x", "b": " y"}}""", "shows no {field}")]
    [InlineData("""{"template": "{text}", "verbalizer": {"a": " x", "b": " x"}}""", "the same way")]
    [InlineData("""{"template": "{text}", "verbalizer": {"a": " x", "b": 3}}""", "verbalizer[\"b\"]")]
    [InlineData("""{"kind": "tagging", "template": "{text}", "verbalizer": {"a": " x", "b": " y"}}""",
        "\"tags\" must be an array")]
    [InlineData("""{"kind": "tagging", "tags": ["A", "A"]}""", "a tag twice")]
    [InlineData("""{"kind": "generation", "template": "{word}:"}""", "no \"target_template\"")]
    [InlineData("""
        {"kind": "generation", "template": "{word}:", "target_template": " {gloss}", "defaults": {"pos": 1}}
        """,
        "defaults[\"pos\"]")]
    [InlineData("""{"kind": "poem", "template": "{text}"}""", "classification, generation or tagging")]
    [InlineData("""{"template": "{text}", "verbalizer": {"a": " x", "b": " y"}, "cloze_template": "{text}"}""",
        "[MASK]")]
    [InlineData("""[1, 2]""", "JSON object")]
    [InlineData("""{"template": """, "not valid JSON")]
    public void Bad_definitions_are_refused_naming_the_file_and_field(string json, string expected)
    {
        string dir = Folder(json);
        var error = Assert.Throws<InvalidDataException>(() => TaskDefinition.LoadClassification(dir, "t"));
        Assert.Contains(expected, error.Message);
        Assert.Contains(TaskDefinition.FileName, error.Message);
    }

    [Theory]
    [InlineData("{soft*3}Mail: {body}\nSpam?", "Start", 3)]
    [InlineData("Mail: {body}\nSpam?{soft}", "End", null)]
    public void A_soft_slot_at_the_template_s_start_or_end_says_where_the_prompt_goes(string template, string position,
        int? count)
    {
        string dir = Folder(System.Text.Json.JsonSerializer.Serialize(new { template, verbalizer = new { spam = " yes",
            ham = " no" } }));
        var task = TaskDefinition.LoadClassification(dir, "mail");
        Assert.Equal(new SoftSlot(Enum.Parse<SoftSlotPosition>(position), count), task.Soft);
        Assert.Equal("Mail: {body}\nSpam?", task.Template); // what every method renders: no slot in it
        var example = new LabeledExample(new Dictionary<string, string> { ["body"] = "Win now" }, "spam");
        Assert.Equal("Mail: Win now\nSpam?", task.Render(example));
        var again = Assert.IsType<ClassificationTask>(TaskDefinition.FromJson(TaskDefinition.ToJson(task), "mail",
            "copy"));
        Assert.Equal(task.Soft, again.Soft); // the copy an adapter keeps writes the slot back
        Assert.Equal(template, TaskDefinition.ToJson(task)["template"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("Mail: {soft} {body}", "at the template's start")]
    [InlineData("{soft}Mail: {body}{soft}", "once")]
    [InlineData("{soft*0}Mail: {body}", "1 to 512 soft tokens")]
    public void A_soft_slot_inside_the_text_is_refused_as_p_tuning_s(string template, string expected)
    {
        string dir = Folder(System.Text.Json.JsonSerializer.Serialize(new { template, verbalizer = new { spam = " yes",
            ham = " no" } }));
        var error = Assert.Throws<InvalidDataException>(() => TaskDefinition.LoadClassification(dir, "mail"));
        Assert.Contains(expected, error.Message);
        Assert.Contains("\"template\"", error.Message);
    }

    [Fact]
    public void A_prompt_adapter_keeps_the_definition_it_was_trained_with()
    {
        var task = new ClassificationTask("mail", "Mail: {body}\nSpam?", new Dictionary<string,
            string> { ["spam"] = " yes", ["ham"] = " no" });
        string dir = Folder(null);
        PromptAdapterFiles.Save(dir, new PromptEmbedding(2, 8), new PromptAdapterFiles.Info("base", 1, 1, "labels",
            null, "mail", task));
        var kept = Assert.IsType<ClassificationTask>(PromptAdapterFiles.DefinitionOf(dir, "mail"));
        Assert.Equal(task.Template, kept.Template);
        Assert.Equal(task.Verbalizer, kept.Verbalizer);
        Assert.Equal("mail", PromptAdapterFiles.TaskOf(dir));
        Assert.Null(PromptAdapterFiles.DefinitionOf(Folder(null), "mail"));
    }
}
