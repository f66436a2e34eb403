using System.Text.Json.Nodes;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Tuning.PromptTuning;
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
        string dir = Folder("""{"kind": "classification", "template": "Mail: {body}\nQuestion: Is it spam?\nAnswer:", "verbalizer": {"spam": " yes", "ham": " no"}, "label_field": "kind", "cloze_template": "Mail: {body} Spam? [MASK]."}""");
        var task = TaskDefinition.LoadClassification(dir, "mail");
        Assert.Equal("mail", task.Name);
        Assert.Equal(new[] { "spam", "ham" }, task.Labels);
        Assert.Equal(" no", task.Verbalizer["ham"]);
        Assert.Equal("kind", task.LabelField);
        var example = new LabeledExample(new Dictionary<string, string> { ["body"] = "Win now", ["kind"] = "spam" }, "spam");
        Assert.Equal("Mail: Win now\nQuestion: Is it spam?\nAnswer:", task.Render(example));
        Assert.Equal("Mail: Win now Spam? [MASK].", task.AsCloze().Render(example));
        // and back: the JSON an adapter keeps reads as the same task
        var again = TaskDefinition.FromJson(TaskDefinition.ToJson(task), "mail", "copy");
        Assert.Equal(task.Template, again.Template);
        Assert.Equal(task.Verbalizer, again.Verbalizer);
        Assert.Equal(task.ClozeTemplate, again.ClozeTemplate);
    }

    [Fact]
    public void A_folder_without_task_json_falls_back_to_the_built_in_task()
    {
        Assert.Equal(ClassificationTask.BuiltIn("brown-genre").Template, TaskDefinition.LoadClassification(Folder(null), "brown-genre").Template);
    }

    [Theory]
    [InlineData("""{"template": "{text}", "verbalizer": {"a": " x"}}""", "at least two")]
    [InlineData("""{"verbalizer": {"a": " x", "b": " y"}}""", "no \"template\"")]
    [InlineData("""{"template": "no slot", "verbalizer": {"a": " x", "b": " y"}}""", "shows no {field}")]
    [InlineData("""{"template": "{text}", "verbalizer": {"a": " x", "b": " x"}}""", "the same way")]
    [InlineData("""{"template": "{text}", "verbalizer": {"a": " x", "b": 3}}""", "verbalizer[\"b\"]")]
    [InlineData("""{"kind": "tagging", "template": "{text}", "verbalizer": {"a": " x", "b": " y"}}""", "only classification")]
    [InlineData("""{"template": "{text}", "verbalizer": {"a": " x", "b": " y"}, "cloze_template": "{text}"}""", "[MASK]")]
    [InlineData("""[1, 2]""", "JSON object")]
    [InlineData("""{"template": """, "not valid JSON")]
    public void Bad_definitions_are_refused_naming_the_file_and_field(string json, string expected)
    {
        string dir = Folder(json);
        var error = Assert.Throws<InvalidDataException>(() => TaskDefinition.LoadClassification(dir, "t"));
        Assert.Contains(expected, error.Message);
        Assert.Contains(TaskDefinition.FileName, error.Message);
    }

    [Fact]
    public void A_prompt_adapter_keeps_the_definition_it_was_trained_with()
    {
        var task = new ClassificationTask("mail", "Mail: {body}\nSpam?", new Dictionary<string, string> { ["spam"] = " yes", ["ham"] = " no" });
        string dir = Folder(null);
        PromptAdapterFiles.Save(dir, new PromptEmbedding(2, 8), new PromptAdapterFiles.Info("base", 1, 1, "labels", null, "mail", task));
        var kept = PromptAdapterFiles.DefinitionOf(dir, "mail");
        Assert.NotNull(kept);
        Assert.Equal(task.Template, kept!.Template);
        Assert.Equal(task.Verbalizer, kept.Verbalizer);
        Assert.Equal("mail", PromptAdapterFiles.TaskOf(dir));
        Assert.Null(PromptAdapterFiles.DefinitionOf(Folder(null), "mail"));
    }
}
