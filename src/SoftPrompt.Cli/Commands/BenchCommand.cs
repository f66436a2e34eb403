using System.CommandLine;
using System.Diagnostics;
using SoftPrompt.Cli.Bench;
using System.Text.Json;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.IO;
using SoftPrompt.Engine.Kernels;
using SoftPrompt.Engine.Optim;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Serving;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Cli.Commands;

/// <summary>
/// `softprompt bench`: one JSON line per case. sgemm GFLOP/s on the GPT-2 MLP shapes, then a GPT-2-small-sized model
/// (random weights) timed on a prompt-tuning step, a full fine-tuning step, an inference forward and batch-1 decoding.
/// Each case warms up first and reports the median of its timed runs. Two cases run the real --model instead:
/// generate (greedy tokens/s at batch 1 and 8) and serve (the server under concurrent load,
/// <see cref="ServerLoadTest"/>).
/// </summary>
public static class BenchCommand
{
    public static Command Build()
    {
        var cases = new Option<string>("--cases")
        {
            Description =
                "Comma-separated: peak (fp32 FMA GFLOP/s of this host), sgemm,prompt,ft,forward,decode (random "
                + "GPT-2-sized model); generate,serve (--model)",
            DefaultValueFactory = _ => "peak,sgemm,prompt,ft,forward,decode",
        };
        var threads = new Option<int>("--threads") { Description = "Worker threads", DefaultValueFactory = _ => 2 };
        var repeats = new Option<int>("--repeats")
        {
            Description = "Timed runs per case (median reported)",
            DefaultValueFactory = _ => 5,
        };
        var layers = new Option<int>("--layers")
        {
            Description = "Transformer layers (GPT-2 small: 12)",
            DefaultValueFactory = _ => 12,
        };
        var width = new Option<int>("--width")
        {
            Description = "Hidden width (GPT-2 small: 768)",
            DefaultValueFactory = _ => 768,
        };
        var heads = new Option<int>("--heads") { Description = "Attention heads", DefaultValueFactory = _ => 12 };
        var vocab = new Option<int>("--vocab") { Description = "Vocabulary size", DefaultValueFactory = _ => 50257 };
        var batch = new Option<int>("--batch") { Description = "Batch rows", DefaultValueFactory = _ => 4 };
        var tokens = new Option<int>("--tokens")
        {
            Description = "Text tokens per row",
            DefaultValueFactory = _ => 128,
        };
        var promptLength = new Option<int>("--prompt-tokens")
        {
            Description = "Soft-prompt positions",
            DefaultValueFactory = _ => 20,
        };
        var family = new Option<string>("--family")
        {
            Description = "write-random: the model_type of the random checkpoint (gpt2, llama, qwen2, qwen3, …)",
            DefaultValueFactory = _ => "qwen2",
        };
        var kvHeads = new Option<int?>("--kv-heads") { Description =
            "write-random: key/value heads (default: --heads)" };
        var mlp = new Option<int?>("--mlp") { Description = "write-random: MLP width (default: 4 × --width)" };
        var weights = CommonOptions.InferenceWeights();
        var recompute = CommonOptions.Recompute();
        var modelPath = CommonOptions.Model("Model for the generate and serve cases", "models/base-small");
        var requests = new Option<int>("--requests")
        {
            Description = "serve: requests sent (one by one, then concurrently)",
            DefaultValueFactory = _ => 512,
        };
        var clients = new Option<int>("--clients")
        {
            Description = "serve: concurrent clients",
            DefaultValueFactory = _ => 64,
        };

        var command = new Command("bench", "Measure kernel and training-step speed (JSON lines on stdout).");
        foreach (var o in new Option[] { cases, threads, repeats, layers, width, heads, vocab, batch, tokens,
            promptLength, modelPath, requests, clients, family, kvHeads, mlp, weights, recompute })
            command.Options.Add(o);
        command.SetAction(parse =>
        {
            Parallelism.Threads = parse.GetValue(threads);
            var settings = new BenchSettings(parse.GetValue(repeats), parse.GetValue(batch), parse.GetValue(tokens),
                parse.GetValue(promptLength),
                parse.GetValue(modelPath)!, parse.GetValue(requests), parse.GetValue(clients), parse.GetValue(weights)!,
                parse.GetValue(recompute));
            string modelType = parse.GetValue(family)!;
            var randomCheckpoint = new ModelConfig
            {
                Architecture = modelType == "gpt2" ? Architecture.Gpt2 : Architecture.Llama, ModelType = modelType,
                VocabSize = parse.GetValue(vocab), HiddenSize = parse.GetValue(width),
                NumLayers = parse.GetValue(layers),
                NumHeads = parse.GetValue(heads), NumKvHeads = modelType == "gpt2" ? 0 : parse.GetValue(kvHeads)
                    ?? parse.GetValue(heads),
                IntermediateSize = parse.GetValue(mlp) ?? 4 * parse.GetValue(width), MaxPositions = 1024,
                QkvBias = modelType == "qwen2", QkNorm = modelType == "qwen3", RopeTheta = 1_000_000f, NormEps = 1e-6f,
            };
            var config = new ModelConfig
            {
                Architecture = Architecture.Gpt2, VocabSize = parse.GetValue(vocab), HiddenSize = parse.GetValue(width),
                NumLayers = parse.GetValue(layers), NumHeads = parse.GetValue(heads),
                IntermediateSize = 4 * parse.GetValue(width),
                MaxPositions = 1024,
            };
            Run(parse.GetValue(cases)!.Split(',',
                StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), config, settings,
                randomCheckpoint);
            return 0;
        });
        return command;
    }

    private sealed record BenchSettings(int Repeats, int Batch, int Tokens, int PromptTokens, string ModelPath,
        int Requests, int Clients,
        string Weights, bool Recompute)
    {
        public bool Bf16Weights => Weights == "bf16";
        public bool Int8Weights => Weights == "int8";
    }

    private static void Run(string[] cases, ModelConfig config, BenchSettings s, ModelConfig randomCheckpoint)
    {
        CausalLanguageModel? model = null;
        CausalLanguageModel Model()
        {
            if (model is null)
            {
                model = CausalLanguageModel.Create(config);
                model.InitializeRandom(seed: 1);
            }
            return model;
        }
        // The frozen-model cases with --weights bf16: block matrices rounded to bfloat16 (full fine-tuning widens them
        // back to float32, so the later cases hold them again). Their float32 arrays are collected at once, as if the
        // model had been loaded from a bf16 checkpoint (which never makes them), so the peak RSS is the bf16 model's.
        CausalLanguageModel Frozen()
        {
            var frozen = Model();
            if ((s.Bf16Weights && frozen.HoldBlockMatricesInBf16() > 0)
                || (s.Int8Weights && frozen.HoldBlockMatricesInInt8() > 0))
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            return frozen;
        }

        LoadedModel? real = null;
        LoadedModel Real() => real ??= CommonOptions.LoadModel(s.ModelPath, s.Weights);

        var trains = new[] { "prompt", "ft", "model-step" };
        if (s.Int8Weights && cases.Intersect(trains).ToArray() is { Length: > 0 } training)
            throw new OptionException("Weights", $"int8 is for inference; the case{(training.Length > 1 ? "s" : "")} " +
                $"{string.Join(", ", training)} train{(training.Length > 1 ? "" : "s")} (use fp32 or bf16 there).");
        foreach (var name in cases)
        {
            switch (name)
            {
                case "peak":
                    Emit(new { @case = "fma_peak", threads = Parallelism.Threads,
                        gflops = Math.Round(FmaPeak.Gflops(Parallelism.Threads), 1),
                        vector_bits = FmaPeak.VectorBits });
                    break;
                case "sgemm":
                    foreach (var (m, n, k, ta, tb, label) in new[]
                    {
                        (512, 3072, 768, false, true, "forward x·Wᵀ"), (512, 768, 3072, false, false, "backward dy·W"),
                        (768, 3072, 512, true, false, "weight grad dyᵀ·x"),
                        (2560, 688, 256, false, true, "base-small MLP x·Wᵀ"),
                    })
                        Emit(new { @case = "sgemm", shape = $"{m}x{n}x{k}", transA = ta, transB = tb, label,
                            threads = Parallelism.Threads, gflops = Math.Round(SgemmBenchmark.Gflops(m, n, k, ta, tb,
                            s.Repeats * 4), 1) });
                    // The same forward shapes through a bfloat16 weight (--weights bf16's products).
                    foreach (var (m, n, k, label) in new[]
                    {
                        (512, 3072, 768, "forward x·Wᵀ, bf16 weight"),
                        (2560, 688, 256, "base-small MLP, bf16 weight"),
                    })
                        Emit(new { @case = "bf16_gemm", shape = $"{m}x{n}x{k}", label, threads = Parallelism.Threads,
                            gflops = Math.Round(SgemmBenchmark.Bf16Gflops(m, n, k, s.Repeats * 4), 1) });
                    break;
                case "prompt": Emit(Case("prompt_tuning_step", s, PromptTuningStep(Frozen(), s),
                    StepFlops.PromptTuning(config, s.Batch, s.PromptTokens, s.Tokens))); break;
                case "ft": Emit(Case("full_finetune_step", s, FullFineTuneStep(Model(), s),
                    StepFlops.FullFineTuning(config, s.Batch, s.Tokens))); break;
                case "forward": Emit(Case("inference_forward", s, InferenceForward(Frozen(), s),
                    StepFlops.Forward(config, s.Batch, s.Tokens))); break;
                case "decode": Emit(Case("decode_token_batch1", s, DecodeToken(Frozen(), s))); break;
                case "bf16-accuracy": Emit(Bf16Accuracy(config, s)); break;
                case "generate":
                    foreach (int rows in new[] { 1, 8 }) Emit(GreedyGeneration(Real(), rows, s));
                    break;
                case "serve":
                    var loaded = Real();
                    var report = ServerLoadTest.RunAsync(loaded.Model, loaded.Tokenizer!, s.Requests, s.Clients)
                        .GetAwaiter().GetResult();
                    Emit(new { @case = "serve_classify", model = s.ModelPath, threads = Parallelism.Threads,
                        one_by_one = report.OneByOne,
                        concurrent = report.Concurrent, wrong = report.Wrong, largest_batch = report.LargestBatch });
                    break;
                case "write-random":
                {
                    // A random checkpoint of any size in bf16, for the load and step of a big model (--model is where
                    // it goes).
                    var clock = Stopwatch.StartNew();
                    var written = CausalLanguageModel.Create(randomCheckpoint);
                    written.InitializeRandom(seed: 1, std: 0.02f);
                    ModelLoader.Save(written, s.ModelPath, SafeTensorsDType.BF16);
                    Emit(new { @case = "write_random", model = s.ModelPath, family = randomCheckpoint.ModelType,
                        parameters = written.ParameterCount,
                        file_mb = CheckpointBytes(s.ModelPath) / (1 << 20),
                            seconds = Math.Round(clock.Elapsed.TotalSeconds, 1) });
                    break;
                }
                case "model-step":
                {
                    // The real --model: load it (--weights says how), its resident memory against its files, one
                    // prompt-tuning step.
                    var clock = Stopwatch.StartNew();
                    var big = Real();
                    double loadSeconds = clock.Elapsed.TotalSeconds;
                    GC.Collect();
                    var (rss, peak) = ResidentMemory();
                    long fileBytes = CheckpointBytes(s.ModelPath);
                    var step = PromptTuningStep(big.Model, s);
                    Emit(new
                    {
                        @case = "model_prompt_step", model = s.ModelPath, weights = s.Weights,
                        parameters = big.Model.ParameterCount,
                        file_mb = fileBytes / (1 << 20), load_seconds = Math.Round(loadSeconds, 1),
                        rss_after_load_mb = rss / (1 << 20),
                        peak_rss_during_load_mb = peak / (1 << 20), rss_over_file = Math.Round((double)rss / fileBytes,
                            3),
                        peak_over_file = Math.Round((double)peak / fileBytes, 3), batch = s.Batch, tokens = s.Tokens,
                        prompt_tokens = s.PromptTokens,
                        median_ms = Math.Round(step.Item1, 1), min_ms = Math.Round(step.Item2, 1),
                        peak_rss_after_step_mb = ResidentMemory().Peak / (1 << 20),
                    });
                    break;
                }
                default: throw new ArgumentException(
                    $"Unknown bench case '{name}' (known: peak, sgemm, prompt, ft, forward, decode, bf16-accuracy, " +
                    $"generate, serve, write-random, model-step).");
            }
        }
    }

    /// <param name="flops">The step's multiply-add work (<see cref="StepFlops"/>): with the host's FMA peak, its
    /// floor.</param>
    private static object Case(string name, BenchSettings s, (double MedianMs, double MinMs, long Allocations) r,
        double? flops = null) => new
    {
        @case = name, weights = s.Weights, batch = s.Batch, tokens = s.Tokens, prompt_tokens = s.PromptTokens,
        threads = Parallelism.Threads,
        gflop = flops is double f ? Math.Round(f / 1e9, 2) : (double?)null,
        median_ms = Math.Round(r.MedianMs, 1), min_ms = Math.Round(r.MinMs, 1), pool_allocations_after_warmup =
            r.Allocations,
        recompute = s.Recompute,
        peak_rss_mb = Process.GetCurrentProcess().PeakWorkingSet64 / (1 << 20),
        step_peak_rss_mb = ResidentMemory().Peak / (1 << 20),
    };

    private static long CheckpointBytes(string directory) =>
        Directory.EnumerateFiles(directory, "*.safetensors").Sum(f => new FileInfo(f).Length);

    /// <summary>This process's resident memory now (VmRSS) and its peak so far (VmHWM), from /proc; zeros
    /// elsewhere.</summary>
    private static (long Rss, long Peak) ResidentMemory()
    {
        if (!File.Exists("/proc/self/status")) return (0, 0);
        var status = File.ReadAllLines("/proc/self/status"); // one snapshot for both figures
        long Field(string name) => status.Where(l => l.StartsWith(name + ":"))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024).FirstOrDefault();
        return (Field("VmRSS"), Field("VmHWM"));
    }

    /// <summary>Starts this process's VmHWM again from its resident memory now (Linux: "5" into
    /// /proc/self/clear_refs); elsewhere nothing, and the step's peak is the process's.</summary>
    private static void ResetPeakResidentMemory()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private static void Emit(object record)
    {
        Console.WriteLine(JsonSerializer.Serialize(record));
        if (!OpProfile.Enabled) return;
        // SOFTPROMPT_PROFILE=1: the timed runs' time per op (forward = since the previous op recorded)
        foreach (var (op, forward, backward, calls) in OpProfile.Snapshot())
            Console.Error.WriteLine(
                $"  {op,-16} forward {forward,9:F1} ms  backward {backward,9:F1} ms  ({calls} calls)");
        OpProfile.Reset();
    }

    /// <summary>Times <paramref name="step"/> after one warm-up; returns median, min and pool growth after
    /// warm-up.</summary>
    private static (double, double, long) Time(Tape tape, int repeats, Action step)
    {
        // The case's own peak (step_peak_rss_mb): what the model holds now and what its steps add, without what
        // making the model cost (a random float32 model rounded to bfloat16 on the spot, whose float32 arrays a
        // bf16 checkpoint's load never makes).
        GC.Collect();
        ResetPeakResidentMemory();
        step();
        OpProfile.Reset();
        long before = tape.Allocations;
        var ms = new List<double>();
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            step();
            ms.Add(sw.Elapsed.TotalMilliseconds);
        }
        ms.Sort();
        return (ms[ms.Count / 2], ms[0], tape.Allocations - before);
    }

    private static (int[] Ids, int[] Targets) RandomBatch(ModelConfig config, BenchSettings s)
    {
        var rng = new Random(5);
        var ids = new int[s.Batch * s.Tokens];
        for (int i = 0; i < ids.Length; i++) ids[i] = rng.Next(config.VocabSize);
        var targets = new int[s.Batch * s.Tokens];
        for (int b = 0; b < s.Batch; b++)
            for (int t = 0; t < s.Tokens; t++)
                targets[b * s.Tokens + t] = t + 1 < s.Tokens ? ids[b * s.Tokens + t + 1] : -100;
        return (ids, targets);
    }

    private static (double, double, long) PromptTuningStep(CausalLanguageModel model, BenchSettings s)
    {
        model.SetTrainable(false);
        CommonOptions.ApplyRecompute(model, s.Recompute);
        var prompt = new PromptEmbedding(s.PromptTokens, model.Config.HiddenSize);
        prompt.InitializeUniform(seed: 3);
        var optimizer = new AdamW(new[] { prompt.Prompt }, learningRate: 0.3f, weightDecay: 0f);
        var (ids, targets) = RandomBatch(model.Config, s);
        var tape = new Tape { ReleaseGradientsEagerly = true }; // only parameter gradients are read
        return Time(tape, s.Repeats, () =>
        {
            PromptLossAndGradient(tape, model, prompt, ids, targets, s);
            optimizer.Update();
            optimizer.ZeroGrad();
        });
    }

    // One prompt-tuning forward and backward: the mean language-model loss of the text after the prompt.
    private static float PromptLossAndGradient(Tape tape, CausalLanguageModel model, PromptEmbedding prompt, int[] ids,
        int[] targets, BenchSettings s)
    {
        tape.Reset();
        var hidden = model.Hidden(tape, prompt.Input(tape, model, ids, s.Batch, s.Tokens));
        // Prompt positions carry no loss, so the LM head runs on the text positions only.
        var text = Fn.Slice(tape, hidden, 1, s.PromptTokens, s.Tokens);
        var loss = model.LanguageModelLoss(tape, text, targets);
        tape.Backward(loss);
        return loss[0];
    }

    /// <summary>The 16-bit path's error at this shape: the prompt-tuning loss and the prompt's gradient with the
    /// random model's block matrices in float32, then held in bfloat16 (rounded, and computed by the bfloat16 kernels
    /// where the CPU has them).</summary>
    private static object Bf16Accuracy(ModelConfig config, BenchSettings s)
    {
        var model = CausalLanguageModel.Create(config);
        model.InitializeRandom(seed: 1);
        model.SetTrainable(false);
        var prompt = new PromptEmbedding(s.PromptTokens, model.Config.HiddenSize);
        prompt.InitializeUniform(seed: 3);
        var (ids, targets) = RandomBatch(model.Config, s);
        var tape = new Tape();
        float wideLoss = PromptLossAndGradient(tape, model, prompt, ids, targets, s);
        var wideGradient = prompt.Prompt.Grad.ToArray();
        prompt.Prompt.Grad.Clear();
        int held = model.HoldBlockMatricesInBf16();
        float halfLoss = PromptLossAndGradient(tape, model, prompt, ids, targets, s);
        var halfGradient = prompt.Prompt.Grad.ToArray();
        double difference = 0, size = 0, dot = 0, halfSize = 0;
        for (int i = 0; i < wideGradient.Length; i++)
        {
            difference += Math.Pow(halfGradient[i] - wideGradient[i], 2);
            size += Math.Pow(wideGradient[i], 2);
            halfSize += Math.Pow(halfGradient[i], 2);
            dot += (double)halfGradient[i] * wideGradient[i];
        }
        return new
        {
            @case = "bf16_accuracy", batch = s.Batch, tokens = s.Tokens, prompt_tokens = s.PromptTokens,
            bf16_kernels = HardwareSupport.Bf16Products, bf16_matrices = held,
            loss_fp32 = wideLoss, loss_bf16 = halfLoss,
            loss_relative_difference = Math.Round(Math.Abs(halfLoss - wideLoss) / Math.Abs(wideLoss), 6),
            gradient_relative_difference = Math.Round(Math.Sqrt(difference / size), 6),
            gradient_cosine = Math.Round(dot / Math.Sqrt(size * halfSize), 6),
        };
    }

    private static (double, double, long) FullFineTuneStep(CausalLanguageModel model, BenchSettings s)
    {
        model.SetTrainable(true);
        CommonOptions.ApplyRecompute(model, s.Recompute);
        var optimizer = new AdamW(model.Parameters.Select(p => p.Tensor), learningRate: 1e-5f);
        var (ids, targets) = RandomBatch(model.Config, s);
        var tape = new Tape { ReleaseGradientsEagerly = true }; // only parameter gradients are read
        try
        {
            return Time(tape, s.Repeats, () =>
            {
                tape.Reset();
                var hidden = model.Hidden(tape, new ForwardInput { Batch = s.Batch, Length = s.Tokens,
                    TokenIds = ids });
                var loss = model.LanguageModelLoss(tape, hidden, targets);
                tape.Backward(loss);
                optimizer.Update();
                optimizer.ZeroGrad();
            });
        }
        finally
        {
            model.SetTrainable(false);
        }
    }

    private static (double, double, long) InferenceForward(CausalLanguageModel model, BenchSettings s)
    {
        model.SetTrainable(false);
        var (ids, _) = RandomBatch(model.Config, s);
        var tape = new Tape(recording: false);
        return Time(tape, s.Repeats, () =>
        {
            tape.Reset();
            model.Forward(tape, new ForwardInput { Batch = s.Batch, Length = s.Tokens, TokenIds = ids });
        });
    }

    private static (double, double, long) DecodeToken(CausalLanguageModel model, BenchSettings s)
    {
        model.SetTrainable(false);
        const int promptLength = 16, decodeSteps = 32;
        var cache = new KvCache(model.Config, batch: 1, capacity: promptLength + decodeSteps + 1);
        var tape = new Tape(recording: false);
        var prompt = Enumerable.Range(0, promptLength).Select(i => (i * 7919) % model.Config.VocabSize).ToArray();
        var perToken = new List<double>();
        long before = 0;
        GC.Collect();
        ResetPeakResidentMemory();
        for (int run = 0; run <= s.Repeats; run++)
        {
            cache.Clear();
            tape.Reset();
            var logits = model.Forward(tape, new ForwardInput { Batch = 1, Length = promptLength, TokenIds = prompt,
                Cache = cache });
            int next = ArgMaxLast(logits);
            if (run == 1) before = tape.Allocations;
            var sw = Stopwatch.StartNew();
            for (int step = 0; step < decodeSteps; step++)
            {
                tape.Reset();
                logits = model.Forward(tape, new ForwardInput { Batch = 1, Length = 1, TokenIds = new[] { next },
                    Cache = cache });
                next = ArgMaxLast(logits);
            }
            if (run > 0) perToken.Add(sw.Elapsed.TotalMilliseconds / decodeSteps); // run 0 is the warm-up
        }
        perToken.Sort();
        return (perToken[perToken.Count / 2], perToken[0], tape.Allocations - before);
    }

    /// <summary>Greedy decoding of <paramref name="rows"/> prompts at once with a KV cache: new tokens per second over
    /// whole generations (the 16-token prompts' prefill included), median of the timed runs.</summary>
    private static object GreedyGeneration(LoadedModel loaded, int rows, BenchSettings s)
    {
        var model = loaded.Model;
        model.SetTrainable(false);
        const int promptLength = 16, newTokens = 64;
        var rng = new Random(7);
        var prompts = Enumerable.Range(0, rows * promptLength).Select(_ => rng.Next(model.Config.VocabSize)).ToArray();
        var cache = new KvCache(model.Config, rows, promptLength + newTokens);
        var tape = new Tape(recording: false);
        var next = new int[rows];
        var seconds = new List<double>();
        for (int run = 0; run <= s.Repeats; run++)
        {
            var sw = Stopwatch.StartNew();
            cache.Clear();
            var input = prompts;
            for (int step = 0; step < newTokens; step++)
            {
                tape.Reset();
                var logits = model.Forward(tape, new ForwardInput { Batch = rows, Length = input.Length / rows,
                    TokenIds = input, Cache = cache });
                int v = model.Config.VocabSize, length = input.Length / rows;
                for (int r = 0; r < rows; r++)
                    next[r] = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits.ReadOnlySpan.Slice(
                        ((r + 1) * length - 1) * v, v));
                input = (int[])next.Clone();
            }
            if (run > 0) seconds.Add(sw.Elapsed.TotalSeconds); // run 0 is the warm-up
        }
        seconds.Sort();
        double median = seconds[seconds.Count / 2];
        return new
        {
            @case = "greedy_generation", model = s.ModelPath, batch = rows, prompt_tokens = promptLength,
            new_tokens = newTokens,
            threads = Parallelism.Threads, median_ms = Math.Round(median * 1000, 1),
            tokens_per_s = Math.Round(rows * newTokens / median, 1),
        };
    }

    private static int ArgMaxLast(Tensor logits)
    {
        int v = logits.Dim(-1);
        var last = logits.ReadOnlySpan.Slice(logits.Length - v, v);
        return System.Numerics.Tensors.TensorPrimitives.IndexOfMax(last);
    }
}
