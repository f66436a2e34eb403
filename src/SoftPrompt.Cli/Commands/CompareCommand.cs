using System.CommandLine;
using System.Diagnostics;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.Cloze;
using SoftPrompt.Tuning.Heads;
using SoftPrompt.Tuning.PTuning;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Cli.Commands;

/// <summary>
/// `softprompt compare`: the seeds' side-by-side table on one base model and one task — every method of the registry
/// (<see cref="TuningMethods"/>) from a fresh copy of the base, trained with the same steps and batch, scored on the
/// test split: trainable parameters (and % of the base), bytes a task stores, the task's metrics, time, steps and
/// throughput; written as Markdown, CSV and an SVG chart. A decoder reads a label as the verbalizer's next tokens; an
/// encoder (BERT) reads it at the [MASK] of the task's cloze template, and runs only the methods that fit an encoder.
/// </summary>
public static class CompareCommand
{
    public static Command Build()
    {
        var model = new Option<string>("--model") { DefaultValueFactory = _ => ShippedFiles.Path("models/base-small") };
        var task = new Option<string>("--task") { Description = "A task under --data (food-reviews, spam, brown-genre, ...) or a task folder's path (train/validation/test.jsonl, task.json)", Required = true };
        var data = new Option<string>("--data") { DefaultValueFactory = _ => ShippedFiles.Path("data/tasks") };
        var methods = new Option<string?>("--methods")
        {
            Description = $"Comma-separated, from: {string.Join(", ", TuningMethods.All.Select(m => m.Name))}. Default: " +
                          $"{string.Join(",", TuningMethods.Defaults(ModelFamilies.Decoder).Select(m => m.Name))} on a decoder, every method that runs on an encoder on a BERT " +
                          "(those that fit the task)",
        };
        var steps = new Option<int>("--steps") { DefaultValueFactory = _ => 200 };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 8 };
        var promptLength = new Option<int>("--prompt-length") { DefaultValueFactory = _ => 20 };
        var topLayers = new Option<int>("--top-layers") { DefaultValueFactory = _ => 2 };
        var shots = new Option<int>("--shots") { DefaultValueFactory = _ => 4 };
        var trainSize = new Option<int>("--train-size") { Description = "Train on this many examples (low-data mode; 0 = all)", DefaultValueFactory = _ => 0 };
        var evalExamples = new Option<int>("--eval-examples") { DefaultValueFactory = _ => 200 };
        var testExamples = new Option<int>("--test-examples") { Description = "0 = the whole test split", DefaultValueFactory = _ => 0 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 1 };
        var report = new Option<string?>("--report") { Description = "Write the table to this Markdown file, with .csv and .svg beside it" };
        var adapters = new Option<string?>("--save-adapters") { Description = "Keep each method's adapter directory under this folder" };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => Environment.ProcessorCount };
        var loss = new Option<string>("--loss") { Description = "Classification loss of every method scored by label words: labels (softmax over the labels' tokens where they part, as PET), vocabulary (over every token, as Lester et al.) or auto (labels where the labels part at one token)", DefaultValueFactory = _ => "auto" };
        var command = new Command("compare", "Compare prompt design, prompt methods and fine-tuning baselines on one task.");
        foreach (var o in new Option[] { model, task, data, methods, steps, batch, promptLength, topLayers, shots, trainSize, evalExamples, testExamples, seed, report, adapters, threads, loss })
            command.Options.Add(o);
        command.SetAction(parse =>
        {
            Engine.Parallelism.Threads = parse.GetValue(threads);
            var (taskName, dir) = TaskFolder.Locate(parse.GetValue(task)!, parse.GetValue(data)!);
            string modelPath = parse.GetValue(model)!;
            var taskDefinition = TaskDefinition.Load(dir, taskName);
            bool generation = taskDefinition is GenerationTask, tagging = taskDefinition is TaggingTask;
            var family = ModelFamily.Of(ModelLoader.Load(modelPath).Transformer);
            if (generation && family == ModelFamilies.Encoder)
                throw new NotSupportedException($"{taskName} is a generation task and {modelPath} is {ModelFamily.Describe(family)}, which does not generate text.");
            // Named methods must run on the model (one that does not is refused by name); the defaults are the family's
            // methods that fit the task.
            var chosen = parse.GetValue(methods) is string names
                ? names.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(n => TuningMethods.Find(n, family)).ToList()
                : TuningMethods.Defaults(family).Where(m => tagging ? m.SupportsHeads : !generation || m.SupportsGeneration).ToList();
            var settings = new MethodSettings
            {
                PromptLength = parse.GetValue(promptLength), TopLayers = parse.GetValue(topLayers), Shots = parse.GetValue(shots), Seed = parse.GetValue(seed),
                Loss = ClassificationLosses.Parse(parse.GetValue(loss)!),
                Training = new PromptTuningOptions
                {
                    Steps = parse.GetValue(steps), BatchSize = parse.GetValue(batch), EvaluateEvery = Math.Max(1, parse.GetValue(steps) / 4), Seed = parse.GetValue(seed),
                },
            };
            string? path = parse.GetValue(report);
            // The report is rewritten after every method, so a long comparison that is stopped keeps the rows it made.
            void Write(ComparisonTable table)
            {
                if (path is not null) table.WriteReport(path);
            }
            var run = new ComparisonRun(modelPath, family, settings, parse.GetValue(trainSize), parse.GetValue(evalExamples), parse.GetValue(testExamples),
                parse.GetValue(adapters), Write);
            var table = taskDefinition switch
            {
                GenerationTask g => run.Generation(g, dir, chosen),
                TaggingTask t => run.Tagging(t, dir, chosen),
                _ => run.Classification(TaskDefinition.AsClassification(taskDefinition, Path.Combine(dir, TaskDefinition.FileName)), dir, chosen),
            };
            Console.Write(table.Markdown());
            return 0;
        });
        return command;
    }

    /// <summary>One comparison: the same base, data and training budget for every method.</summary>
    /// <param name="written">Called with the table so far after every method.</param>
    internal sealed class ComparisonRun(string modelPath, ModelFamilies family, MethodSettings settings, int trainSize, int evalExamples, int testExamples,
        string? adapterRoot, Action<ComparisonTable> written)
    {
        public ComparisonTable Classification(ClassificationTask task, string dir, IReadOnlyList<TuningMethod> methods)
        {
            var (train, validation, test) = Splits(task.ReadSplit, dir);
            string majority = test.GroupBy(e => e.Label).OrderByDescending(g => g.Count()).First().Key;
            string header = $"Task {task.Name}: {train.Count} train, {test.Count} test examples; majority class \"{majority}\" " +
                            $"{test.Count(e => e.Label == majority) / (double)test.Count:P1}." +
                            (family == ModelFamilies.Encoder ? $" Verbalizer read by the MLM head at the [MASK] of \"{task.AsCloze().Template}\"; heads read [CLS]." : "");
            return Run(methods, header, new[] { "accuracy", "macro-F1" }, train, validation, test,
                (loaded, frozen) => family == ModelFamilies.Encoder ? ClozeContext(loaded, task, train) : VerbalizerContext(loaded, task, train),
                (objective, examples) =>
            {
                var (accuracy, f1) = ((ILabelPredictor)objective).Evaluate(examples);
                return new[] { accuracy, f1 };
            });
        }

        /// <summary>A decoder reads each label as the verbalizer's tokens after the template.</summary>
        internal MethodContext<LabeledExample> VerbalizerContext(LoadedModel loaded, ClassificationTask task, List<LabeledExample> train)
        {
            var (decoder, tokenizer) = (loaded.Model, loaded.Tokenizer!);
            var labelClassifier = new PromptClassifier(decoder, tokenizer, task, null);
            return new MethodContext<LabeledExample>
            {
                Model = decoder, BaseModel = modelPath, Tokenizer = tokenizer, Train = train, Settings = settings, LabeledTask = task,
                Objective = (prompt, adapter, context) => new PromptClassifier(decoder, tokenizer, task, prompt, context) { Adapter = adapter, TrainingLoss = settings.Loss },
                InputTokens = labelClassifier.InputTokens,
                LabelTokens = task.Labels.Select(l => labelClassifier.LabelTokens[l]).ToList(),
                PTuning = (template, encoder) => new PTuningClassifier(decoder, tokenizer, task, template, encoder),
                Demonstrations = (k, seed) => task.FewShotPrefix(train, k, seed),
                WithHead = Head(decoder, tokenizer, task),
            };
        }

        /// <summary>An encoder reads each label as its verbalizer word's MLM logit at the cloze template's [MASK]; a soft
        /// prompt or demonstrations before the input are decoder methods, which the registry keeps away from it.</summary>
        private MethodContext<LabeledExample> ClozeContext(LoadedModel loaded, ClassificationTask task, List<LabeledExample> train)
        {
            var encoder = loaded.Encoder;
            var tokenizer = loaded.Tokenizer as WordPieceTokenizer
                            ?? throw new ArgumentException($"{loaded.Source}: an encoder's cloze methods need its WordPiece tokenizer (with [MASK]).");
            var cloze = task.AsCloze();
            var zeroShot = new ClozeClassifier(encoder, tokenizer, cloze);
            return new MethodContext<LabeledExample>
            {
                Model = encoder, BaseModel = modelPath, Tokenizer = tokenizer, Train = train, Settings = settings, LabeledTask = cloze,
                Objective = (prompt, adapter, context) => prompt is null && context.Length == 0
                    ? new ClozeClassifier(encoder, tokenizer, cloze) { Adapter = adapter }
                    : throw new NotSupportedException("An encoder reads the cloze template as it is: no soft prompt or text before it."),
                InputTokens = zeroShot.InputTokens,
                LabelTokens = zeroShot.LabelTokens.Select(id => new[] { id }).ToList(),
                PTuning = (template, promptEncoder) => new ClozePTuningClassifier(encoder, tokenizer, cloze, template, promptEncoder),
                WithHead = Head(encoder, tokenizer, task),
            };
        }

        /// <summary>P-tuning v2's linear head on the last token (a decoder) or [CLS] (an encoder).</summary>
        private Func<ITrainableAdapter?, HeadObjective<LabeledExample>> Head(Models.TransformerModel model, ITokenizer tokenizer, ClassificationTask task) =>
            adapter => new HeadClassifier(model, tokenizer, task, adapter, HeadClassifier.NewHead(task, model.Config, settings.Seed));

        public ComparisonTable Generation(GenerationTask task, string dir, IReadOnlyList<TuningMethod> methods)
        {
            var (train, validation, test) = Splits(task.ReadSplit, dir);
            foreach (var m in methods.Where(m => !m.SupportsGeneration))
                throw new ArgumentException($"Method '{m.Name}' needs a classification task; {task.Name} is a generation task.");
            return Run(methods, $"Task {task.Name}: {train.Count} train, {test.Count} test examples (greedy decoding).", new[] { "BLEU", "ROUGE-L" },
                train, validation, test, (loaded, _) => new MethodContext<TextExample>
                {
                    Model = loaded.Model, BaseModel = modelPath, Tokenizer = loaded.Tokenizer!, Train = train, Settings = settings,
                    Objective = (prompt, adapter, _) => new PromptGenerator(loaded.Model, loaded.Tokenizer!, task, prompt) { Adapter = adapter },
                    InputTokens = new PromptGenerator(loaded.Model, loaded.Tokenizer!, task, null).InputTokens,
                }, (objective, examples) =>
                {
                    var (bleu, rouge, _) = ((PromptGenerator)objective).Evaluate(examples);
                    return new[] { bleu, rouge };
                });
        }

        /// <summary>Sequence labelling has no verbalizer: every method trains a per-token head beside its own tensors.</summary>
        public ComparisonTable Tagging(TaggingTask task, string dir, IReadOnlyList<TuningMethod> methods)
        {
            var (train, validation, test) = Splits(task.ReadSplit, dir);
            foreach (var m in methods.Where(m => !m.SupportsHeads))
                throw new ArgumentException($"Method '{m.Name}' reads answers through a verbalizer; {task.Name} needs a per-token head (try probe, deep, deep-bottomK, prefix, lora, adapter, ft).");
            return Run(methods, $"Task {task.Name}: {train.Count} train, {test.Count} test sentences; a linear head reads each word's first token.",
                new[] { "token accuracy" }, train, validation, test, (loaded, frozen) =>
                {
                    HeadObjective<TaggedSentence> Tagger(ITrainableAdapter? adapter) =>
                        new TokenTagger(frozen, loaded.Tokenizer!, task, adapter, TokenTagger.NewHead(task, frozen.Config, settings.Seed));
                    var probe = Tagger(null);
                    return new MethodContext<TaggedSentence>
                    {
                        Model = frozen, BaseModel = modelPath, Tokenizer = loaded.Tokenizer!, Train = train, Settings = settings, RequiresHead = true,
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

        private ComparisonTable Run<T>(IReadOnlyList<TuningMethod> methods, string header, string[] metricNames,
            IReadOnlyList<T> train, IReadOnlyList<T> validation, IReadOnlyList<T> test,
            Func<LoadedModel, Models.TransformerModel, MethodContext<T>> makeContext,
            Func<IPromptObjective<T>, IReadOnlyList<T>, double[]> evaluate)
        {
            var rows = new List<ComparisonRow>();
            long baseSize = 0;
            ComparisonTable Table() => new($"{header} Base: {modelPath} ({baseSize:N0} parameters).", metricNames, baseSize, rows.ToList());
            foreach (var method in methods)
            {
                var loaded = ModelLoader.Load(modelPath); // every method from the same untouched base
                if (loaded.Tokenizer is null) throw new FileNotFoundException($"The model at {loaded.Source} has no tokenizer.");
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
                    Console.Error.WriteLine($"{method.Name}: {prepared.Note}");
                    (steps, note) = search(train, validation);
                    trainSeconds = clock.Elapsed.TotalSeconds;
                    examplesPerSecond = steps * settings.Training.BatchSize / Math.Max(trainSeconds, 1e-9);
                }
                else if (prepared.Training is { } training)
                {
                    Console.Error.WriteLine($"{method.Name}: {prepared.Note}");
                    var result = new PromptTuner<T>(prepared.Objective, training, new ConsoleProgress(TimeSpan.FromSeconds(30)), prepared.Trainable)
                        .Run(train, validation);
                    steps = result.Steps;
                    trainSeconds = clock.Elapsed.TotalSeconds;
                    examplesPerSecond = steps * training.BatchSize * training.AccumulationSteps / Math.Max(trainSeconds, 1e-9);
                }
                if (adapterRoot is not null && prepared.Save is not null && steps > 0) prepared.Save(Path.Combine(adapterRoot, method.Name));
                var metrics = evaluate(prepared.Objective, test);
                double meanTokens = train.Take(200).Average(e => context.InputTokens(e).Length);
                long trainable = prepared.Trainable.Sum(t => (long)t.Length); // prefix tuning trains its MLP too, but stores only the rows
                rows.Add(new ComparisonRow(method.Name, trainable, prepared.StoredValues * sizeof(float), metrics,
                    clock.Elapsed.TotalSeconds, steps, examplesPerSecond * meanTokens, note));
                Console.Error.WriteLine($"{method.Name}: {string.Join(", ", metricNames.Select((n, i) => $"{n} {metrics[i]:F4}"))} ({clock.Elapsed.TotalSeconds:F0} s)");
                written(Table());
            }
            return Table();
        }
    }
}
