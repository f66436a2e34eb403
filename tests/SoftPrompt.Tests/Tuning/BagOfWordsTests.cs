using SoftPrompt.Data.Tasks;
using SoftPrompt.Tuning.BagOfWords;
using Xunit;

namespace SoftPrompt.Tests.Tuning;

public class BagOfWordsTests
{
    private static readonly ClassificationTask Task = new("mood", "Note: {note}\nHappy?",
        new Dictionary<string, string> { ["yes"] = " yes", ["no"] = " no" }, LabelField: "mood");

    private static List<LabeledExample> Examples(int count, int seed)
    {
        var rng = new Random(seed);
        string[] good = { "lovely", "delicious", "wonderful", "great" }, bad = { "awful", "stale", "broken", "rude" };
        string[] filler = { "the", "box", "came", "today", "and", "it", "was", "tea", "cake", "staff" };
        return Enumerable.Range(0, count).Select(_ =>
        {
            bool happy = rng.Next(2) == 0;
            var words = Enumerable.Range(0, 6).Select(_ => filler[rng.Next(filler.Length)]).ToList();
            words.Insert(rng.Next(words.Count), (happy ? good : bad)[rng.Next(4)]);
            string label = happy ? "yes" : "no";
            return new LabeledExample(new Dictionary<string, string> { ["note"] = string.Join(' ', words),
                ["mood"] = label }, label);
        }).ToList();
    }

    [Fact]
    public void Learns_a_task_its_words_decide_and_reads_only_the_template_fields()
    {
        var classifier = new BagOfWordsClassifier(Task);
        classifier.Fit(Examples(200, 1), Examples(50, 2));
        var test = Examples(200, 3);
        double accuracy = test.Count(e => classifier.Predict(e) == e.Label) / (double)test.Count;
        Assert.True(accuracy > 0.95, $"accuracy {accuracy:P1}");

        // The label field is not a feature: writing the other label there changes no probability.
        foreach (var e in test.Take(20))
        {
            var flipped = new LabeledExample(new Dictionary<string, string>(e.Fields) { ["mood"] = e.Label == "yes"
                ? "no" : "yes" }, e.Label);
            Assert.Equal(classifier.Probabilities(e), classifier.Probabilities(flipped));
        }
    }

    [Fact]
    public void Ngrams_are_lower_cased_words_and_adjacent_pairs()
    {
        Assert.Equal(new[] { "not", "good", "not good", "at", "good at", "all", "at all" },
            BagOfWordsClassifier.Ngrams("Not good, at ALL!"));
    }

    [Fact]
    public void Predicting_before_fitting_says_so()
    {
        var e = Examples(1, 4)[0];
        Assert.Contains("not fitted", Assert.Throws<InvalidOperationException>(() => new BagOfWordsClassifier(Task)
            .Predict(e)).Message);
    }
}
