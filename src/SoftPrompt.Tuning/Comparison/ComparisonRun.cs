using System.Diagnostics;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Models.Formats;
using SoftPrompt.Training.Progress;
using SoftPrompt.Tuning.Cloze;
using SoftPrompt.Tuning.Heads;
using SoftPrompt.Tuning.PTuning;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Tuning.Comparison;

/// <summary>
/// One comparison: the same base, data and training budget for every method of the registry asked for, each from an
/// untouched copy of the base, scored on the same test rows; the table grows one row per method. What `compare` runs,
/// and how `tune --method` prepares a method.
/// </summary>
/// <param name="trainSize">Train on this many examples (a random subset, the same for every method); 0 = all.</param>
/// <param name="adapterRoot">Keep each method's adapter directory (with the task it was trained for) under this
/// folder.</param>
/// <param name="progress">Training progress and one line per method.</param>
/// <param name="written">Called with the table so far after every method.</param>
public sealed class ComparisonRun(string modelPath, ModelFamilies family, MethodSettings settings, int trainSize,
    int evalExamples, int testExamples,
    string? adapterRoot, ITrainingProgress progress, Action<ComparisonTable> written)
{
    public ComparisonTable Classification(ClassificationTask task, string dir, IReadOnlyList<TuningMethod> methods)
    {
        var (train, validation, test) = Splits(task.ReadSplit, dir);
        var (majority, majorityRate, _) = LabelPredictorExtensions.Majority(test, task.Labels);
        string header =
            $"Task {task.Name}: {train.Count} train, {test.Count} test examples; majority class \"{majority}\" " +
                        $"{majorityRate:P1}." +
                        (family == ModelFamilies.Encoder
                            ? $" Verbalizer read by the MLM head at the [MASK] of \"{task.AsCloze().Template}\"; " +
                            $"heads read [CLS]." : "");
        return Run(task, methods, header, new[] { "accuracy", "macro-F1" }, train, validation, test,
            (loaded, frozen) => family == ModelFamilies.Encoder ? ClozeContext(loaded, task, train) : VerbalizerContext(
                loaded, task, train),
            (objective, examples) =>
        {
            var (accuracy, f1) = ((ILabelPredictor)objective).Evaluate(examples);
            return new[] { accuracy, f1 };
        });
    }

    /// <summary>A decoder reads each label as the verbalizer's tokens after the template.</summary>
    public MethodContext<LabeledExample> VerbalizerContext(LoadedModel loaded, ClassificationTask task,
        List<LabeledExample> train)
    {
        var (decoder, tokenizer) = (loaded.Model, loaded.Tokenizer!);
        var labelClassifier = new PromptClassifier(decoder, tokenizer, task, null);
        return new MethodContext<LabeledExample>
        {
            Model = decoder, BaseModel = modelPath, Tokenizer = tokenizer, Train = train, Settings = settings,
            LabeledTask = task,
            Objective = (prompt, adapter, context) => new PromptClassifier(decoder, tokenizer, task, prompt,
                context) { Adapter = adapter, TrainingLoss = settings.Loss },
            InputTokens = labelClassifier.InputTokens,
            LabelTokens = task.Labels.Select(l => labelClassifier.LabelTokens[l]).ToList(),
            PTuning = (template, encoder) => new PTuningClassifier(decoder, tokenizer, task, template, encoder),
            Demonstrations = (k, seed) => task.FewShotPrefix(train, k, seed),
            WithHead = Head(decoder, tokenizer, task),
        };
    }

    /// <summary>An encoder reads each label as its verbalizer word's MLM logit at the cloze template's [MASK]; a soft
    /// prompt or demonstrations before the input are decoder methods, which the registry keeps away from it.</summary>
    private MethodContext<LabeledExample> ClozeContext(LoadedModel loaded, ClassificationTask task,
        List<LabeledExample> train)
    {
        var encoder = loaded.Encoder;
        var tokenizer = loaded.Tokenizer as WordPieceTokenizer
                        ?? throw new ArgumentException(
                            $"{loaded.Source}: an encoder's cloze methods need its WordPiece tokenizer (with [MASK]).");
        var cloze = task.AsCloze();
        var zeroShot = new ClozeClassifier(encoder, tokenizer, cloze);
        return new MethodContext<LabeledExample>
        {
            Model = encoder, BaseModel = modelPath, Tokenizer = tokenizer, Train = train, Settings = settings,
            LabeledTask = cloze,
            Objective = (prompt, adapter, context) => prompt is null && context.Length == 0
                ? new ClozeClassifier(encoder, tokenizer, cloze) { Adapter = adapter }
                : throw new NotSupportedException(
                    "An encoder reads the cloze template as it is: no soft prompt or text before it."),
            InputTokens = zeroShot.InputTokens,
            LabelTokens = zeroShot.LabelTokens.Select(id => new[] { id }).ToList(),
            PTuning = (template, promptEncoder) => new ClozePTuningClassifier(encoder, tokenizer, cloze, template,
                promptEncoder),
            WithHead = Head(encoder, tokenizer, task),
        };
    }

    /// <summary>P-tuning v2's linear head on the last token (a decoder) or [CLS] (an encoder).</summary>
    private Func<ITrainableAdapter?, HeadObjective<LabeledExample>> Head(Models.TransformerModel model,
        ITokenizer tokenizer, ClassificationTask task) =>
        adapter => new HeadClassifier(model, tokenizer, task, adapter, HeadClassifier.NewHead(task, model.Config,
            settings.Seed));

    public ComparisonTable Generation(GenerationTask task, string dir, IReadOnlyList<TuningMethod> methods)
    {
        var (train, validation, test) = Splits(task.ReadSplit, dir);
        foreach (var m in methods.Where(m => !m.SupportsGeneration))
            throw new ArgumentException(
                $"Method '{m.Name}' needs a classification task; {task.Name} is a generation task.");
        return Run(task, methods,
            $"Task {task.Name}: {train.Count} train, {test.Count} test examples (greedy decoding).",
            new[] { "BLEU", "ROUGE-L" },
            train, validation, test, (loaded, _) => new MethodContext<TextExample>
            {
                Model = loaded.Model, BaseModel = modelPath, Tokenizer = loaded.Tokenizer!, Train = train,
                Settings = settings,
                Objective = (prompt, adapter, _) => new PromptGenerator(loaded.Model, loaded.Tokenizer!, task,
                    prompt) { Adapter = adapter },
                InputTokens = new PromptGenerator(loaded.Model, loaded.Tokenizer!, task, null).InputTokens,
            }, (objective, examples) =>
            {
                var (bleu, rouge, _) = ((PromptGenerator)objective).Evaluate(examples);
                return new[] { bleu, rouge };
            });
    }

    /// <summary>Sequence labelling has no verbalizer: every method trains a per-token head beside its own
    /// tensors.</summary>
    public ComparisonTable Tagging(TaggingTask task, string dir, IReadOnlyList<TuningMethod> methods)
    {
        var (train, validation, test) = Splits(task.ReadSplit, dir);
        foreach (var m in methods.Where(m => !m.SupportsHeads))
            throw new ArgumentException(
                $"Method '{m.Name}' reads answers through a verbalizer; {task.Name} needs a per-token head (try " +
                $"probe, deep, deep-bottomK, prefix, lora, adapter, ft).");
        return Run(task, methods,
            $"Task {task.Name}: {train.Count} train, {test.Count} test sentences; a linear head reads each word's " +
            $"first token.",
            new[] { "token accuracy" }, train, validation, test, (loaded, frozen) =>
            {
                HeadObjective<TaggedSentence> Tagger(ITrainableAdapter? adapter) =>
                    new TokenTagger(frozen, loaded.Tokenizer!, task, adapter, TokenTagger.NewHead(task, frozen.Config,
                        settings.Seed));
                var probe = Tagger(null);
                return new MethodContext<TaggedSentence>
                {
                    Model = frozen, BaseModel = modelPath, Tokenizer = loaded.Tokenizer!, Train = train,
                    Settings = settings, RequiresHead = true,
                    Objective = (_, adapter, _) => Tagger(adapter as ITrainableAdapter),
                    WithHead = Tagger,
                    InputTokens = sentence => ((TokenTagger)probe).Encode(sentence, out _),
                };
            }, (objective, examples) => new[] { ((TokenTagger)objective).TokenAccuracy(examples) });
    }

    private (List<T> Train, List<T> Validation, List<T> Test) Splits<T>(Func<string, List<T>> read, string dir)
    {
        var train = read(Path.Combine(dir, "train.jsonl"));
        // Low-data mode keeps a random subset (the split files are ordered), the same one for every method.
        if (trainSize > 0 && trainSize < train.Count)
        {
            var rng = new Random(settings.Seed);
            train = train.OrderBy(_ => rng.Next()).Take(trainSize).ToList();
        }
        return (train, TaskFile.EvenSubset(read(Path.Combine(dir, "validation.jsonl")), evalExamples),
            TaskFile.EvenSubset(read(Path.Combine(dir, "test.jsonl")), testExamples));
    }

    private ComparisonTable Run<T>(ITaskDefinition task, IReadOnlyList<TuningMethod> methods, string header,
        string[] metricNames,
        IReadOnlyList<T> train, IReadOnlyList<T> validation, IReadOnlyList<T> test,
        Func<LoadedModel, Models.TransformerModel, MethodContext<T>> makeContext,
        Func<IPromptObjective<T>, IReadOnlyList<T>, double[]> evaluate)
    {
        var rows = new List<ComparisonRow>();
        long baseSize = 0;
        ComparisonTable Table() => new($"{header} Base: {modelPath} ({baseSize:N0} parameters).", metricNames, baseSize,
            rows.ToList());
        foreach (var method in methods)
        {
            var loaded = ModelLoader.Load(modelPath); // every method from the same untouched base
            if (loaded.Tokenizer is null)
                throw new FileNotFoundException($"The model at {loaded.Source} has no tokenizer.");
            var frozen = loaded.Transformer;
            frozen.SetTrainable(false);
            baseSize = frozen.ParameterCount;
            var context = makeContext(loaded, frozen);
            var prepared = method.Prepare(context);
            var clock = Stopwatch.StartNew();
            int steps = 0;
            double trainSeconds = 0, examplesPerSecond = 0;
            string note = prepared.Note;
            if (prepared.Search is { } search)
            {
                progress.Message($"{method.Name}: {prepared.Note}");
                (steps, note) = search(train, validation);
                trainSeconds = clock.Elapsed.TotalSeconds;
                examplesPerSecond = steps * settings.Training.BatchSize / Math.Max(trainSeconds, 1e-9);
            }
            else if (prepared.Training is { } training)
            {
                progress.Message($"{method.Name}: {prepared.Note}");
                var result = new PromptTuner<T>(prepared.Objective, training, progress, prepared.Trainable)
                    .Run(train, validation);
                steps = result.Steps;
                trainSeconds = clock.Elapsed.TotalSeconds;
                examplesPerSecond = steps * training.BatchSize * training.AccumulationSteps / Math.Max(trainSeconds,
                    1e-9);
            }
            if (adapterRoot is not null && prepared.Save is not null && steps > 0)
            {
                // With the task it was trained for and the base's fingerprint, as `tune` saves it: `serve` and `eval`
                // need nothing else, and refuse it over another base.
                string adapterDirectory = Path.Combine(adapterRoot, method.Name);
                prepared.Save(adapterDirectory);
                if (!File.Exists(Path.Combine(adapterDirectory, PromptAdapterFiles.TaskFile)))
                    PromptAdapterFiles.SaveTaskOf(adapterDirectory, task.Name, task,
                        PromptAdapterFiles.FingerprintOf(frozen));
            }
            var metrics = evaluate(prepared.Objective, test);
            double meanTokens = train.Take(200).Average(e => context.InputTokens(e).Length);
            // prefix tuning trains its MLP too, but stores only the rows
            long trainable = prepared.Trainable.Sum(t => (long)t.Length);
            rows.Add(new ComparisonRow(method.Name, trainable, prepared.StoredValues * sizeof(float), metrics,
                clock.Elapsed.TotalSeconds, steps, examplesPerSecond * meanTokens, note));
            progress.Message(
                $"{method.Name}: {string.Join(", ", metricNames.Select((n, i) => $"{n} {metrics[i]:F4}"))} " +
                $"({clock.Elapsed.TotalSeconds:F0} s)");
            written(Table());
        }
        return Table();
    }
}
