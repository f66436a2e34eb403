using System.IO.Compression;
using System.Text;
using System.Text.Json;
using SoftPrompt.Data.Images;
using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine.IO;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tuning;
using SoftPrompt.Tuning.Adapters;
using SoftPrompt.Tuning.LlamaAdapter;
using SoftPrompt.Tuning.Lora;
using SoftPrompt.Tuning.PrefixTuning;
using SoftPrompt.Tuning.PromptTuning;
using SoftPrompt.Tuning.VisualPrompts;

namespace SoftPrompt.Cli.Fuzzing;

/// <summary>How one mutated file ended: loaded, rejected with a clear error, or a failure of ours.</summary>
public enum FuzzOutcome { Loaded, Rejected, Crashed, Overallocated }

public sealed record FuzzCase(string Format, string Mutation, FuzzOutcome Outcome, string? Message);

/// <summary>
/// Mutates valid files of every format softprompt reads from strangers (truncation, bit flips, extreme integers,
/// inserted and duplicated bytes, deep JSON nesting, invalid UTF-8) and loads each. A load may succeed or fail with one
/// of the user-facing errors (the kinds the CLI prints as one line) whose message names the file; any other exception
/// is a crash, and allocating far more than the file's size is an untrusted length driving an allocation.
/// </summary>
public sealed class FormatFuzzer
{
    private readonly Random _rng;
    private readonly string _workDirectory;

    public FormatFuzzer(int seed, string workDirectory)
    {
        _rng = new Random(seed);
        _workDirectory = workDirectory;
        Directory.CreateDirectory(workDirectory);
    }

    /// <summary>A format: a valid seed file, where a mutated copy goes, and how to load it.</summary>
    public sealed record Target(string Format, byte[] Seed, string FileName, Action<string> Load, bool IsJson);

    public IEnumerable<FuzzCase> Run(Target target, int cases)
    {
        for (int i = 0; i < cases; i++)
        {
            var (mutation, bytes) = Mutate(target.Seed, target.IsJson);
            string caseDir = Path.Combine(_workDirectory, $"{target.Format}-{i}");
            Directory.CreateDirectory(caseDir);
            string path = Path.Combine(caseDir, target.FileName);
            File.WriteAllBytes(path, bytes);
            yield return Load(target, mutation, path, bytes.Length);
            Directory.Delete(caseDir, recursive: true);
        }
    }

    private static FuzzCase Load(Target target, string mutation, string path, long size)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            target.Load(path);
            return Checked(target, mutation, FuzzOutcome.Loaded, null, before, size);
        }
        catch (Exception e) when (CliErrors.IsUserError(e))
        {
            string dirName = Path.GetFileName(Path.GetDirectoryName(path))!;
            bool namesFile = e.Message.Contains(dirName, StringComparison.Ordinal);
            return Checked(target, mutation, namesFile ? FuzzOutcome.Rejected : FuzzOutcome.Crashed,
                namesFile ? e.Message : $"error does not name the file: {e.GetType().Name}: {e.Message}", before, size);
        }
        catch (Exception e)
        {
            return new FuzzCase(target.Format, mutation, FuzzOutcome.Crashed, $"{e.GetType().Name}: {e.Message}");
        }
    }

    // Loading may allocate what a valid file of this size implies (the weights as float32: 2× a bf16 file, plus
    // parsing), never what a corrupt length field asks for.
    private static FuzzCase Checked(Target target, string mutation, FuzzOutcome outcome, string? message, long before,
        long size)
    {
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        long allowance = 64 * size + (32 << 20);
        return allocated > allowance
            ? new FuzzCase(target.Format, mutation, FuzzOutcome.Overallocated,
                $"allocated {allocated:N0} bytes for a {size:N0}-byte file")
            : new FuzzCase(target.Format, mutation, outcome, message);
    }

    private (string, byte[]) Mutate(byte[] seed, bool json)
    {
        var bytes = (byte[])seed.Clone();
        int kind = _rng.Next(json ? 8 : 6);
        switch (kind)
        {
            case 0:
            {
                int length = _rng.Next(bytes.Length);
                return ($"truncate to {length}", bytes[..length]);
            }
            case 1:
            {
                int flips = 1 + _rng.Next(8);
                for (int i = 0; i < flips; i++) bytes[_rng.Next(bytes.Length)] ^= (byte)(1 << _rng.Next(8));
                return ($"flip {flips} bits", bytes);
            }
            case 2:
            {
                // extreme integers where lengths, offsets and counts live: the first bytes and anywhere at random
                long[] extremes = { 0, -1, int.MaxValue, int.MinValue, long.MaxValue, 0x7FFFFFF0, 1L << 40 };
                long value = extremes[_rng.Next(extremes.Length)];
                int at = _rng.Next(2) == 0 ? _rng.Next(Math.Min(bytes.Length, 64)) : _rng.Next(bytes.Length);
                for (int i = 0; i < 8 && at + i < bytes.Length; i++) bytes[at + i] = (byte)(value >> (8 * i));
                return ($"write {value} at {at}", bytes);
            }
            case 3:
            {
                int at = _rng.Next(bytes.Length), count = 1 + _rng.Next(64);
                var noise = new byte[count];
                _rng.NextBytes(noise);
                return ($"insert {count} random bytes at {at}", [.. bytes[..at], .. noise, .. bytes[at..]]);
            }
            case 4:
            {
                int at = _rng.Next(bytes.Length), count = Math.Min(bytes.Length - at, 1 + _rng.Next(4096));
                return ($"duplicate {count} bytes at {at}", [.. bytes[..(at + count)], .. bytes[at..]]);
            }
            case 5:
                return ("empty file", Array.Empty<byte>());
            case 6:
            {
                int depth = 1000 + _rng.Next(100_000);
                return ($"nest {depth} arrays", Encoding.ASCII.GetBytes(new string('[', depth) + new string(']',
                    depth)));
            }
            default:
            {
                int at = _rng.Next(bytes.Length);
                bytes[at] = 0xC3;
                if (at + 1 < bytes.Length) bytes[at + 1] = 0x28; // an invalid UTF-8 sequence
                return ($"invalid UTF-8 at {at}", bytes);
            }
        }
    }

    /// <summary>A model's config.json alone, and its weights mutated beside an intact config.json, loaded as a
    /// directory.</summary>
    private static IEnumerable<Target> ModelDirectoryTargets(string prefix, string fixture, Action<string> load)
    {
        yield return new Target(prefix + "config.json", File.ReadAllBytes(Path.Combine(fixture, "config.json")),
            "config.json",
            path => HfConfig.Read(path), IsJson: true);
        yield return new Target(prefix + "model directory",
            File.ReadAllBytes(Path.Combine(fixture, "model.safetensors")), "model.safetensors",
            path =>
            {
                File.Copy(Path.Combine(fixture, "config.json"), Path.Combine(Path.GetDirectoryName(path)!,
                    "config.json"));
                load(Path.GetDirectoryName(path)!);
            }, IsJson: false);
    }

    /// <summary>The formats, with seeds built from real files where the repository has them.</summary>
    public static List<Target> StandardTargets(string fixturesDirectory, string? tinyStoriesPath)
    {
        var targets = new List<Target>();
        string llama = Path.Combine(fixturesDirectory, "parity", "llama-tiny");
        targets.Add(new Target("safetensors", File.ReadAllBytes(Path.Combine(llama, "model.safetensors")),
            "model.safetensors",
            path =>
            {
                var file = SafeTensorsFile.Open(path);
                foreach (var name in file.Names) file.ReadFloat32(name);
            }, IsJson: false));
        targets.AddRange(ModelDirectoryTargets("", llama, directory => ModelLoader.Load(directory)));
        targets.AddRange(ModelDirectoryTargets("t5 ", Path.Combine(fixturesDirectory, "parity", "t5-v1_1-tiny"),
            directory => ModelLoader.LoadT5(directory)));
        targets.Add(new Target("tokenizer.json", SmallTokenizerJson(), "tokenizer.json",
            path => TokenizerLoader.Load(path), IsJson: true));
        targets.Add(new Target("unigram tokenizer.json", File.ReadAllBytes(Path.Combine(fixturesDirectory, "tokenizers",
            "unigram", "hand-built", "tokenizer.json")),
            "tokenizer.json", path => TokenizerLoader.Load(path).Encode("ABC the cats \u2603 <extra_id_0>\u00E9"),
                IsJson: true));
        var task = new ClassificationTask("reviews", "Review: {text}\nWas the food great?",
            new Dictionary<string, string> { ["great"] = " great", ["other"] = " other" });
        targets.Add(new Target("task jsonl", Encoding.UTF8.GetBytes(
                "{\"label\": \"great\", \"text\": \"Lovely tea, fresh and fragrant.\"}\n{\"label\": \"other\", " +
                    "\"text\": \"Stale and \\\"bland\\\".\"}\n"),
            "train.jsonl", path => task.ReadSplit(path), IsJson: true));
        targets.Add(new Target("adapter", AdapterWeights(), "adapter_model.safetensors",
            path =>
            {
                File.WriteAllText(Path.Combine(Path.GetDirectoryName(path)!, PromptAdapterFiles.ConfigFile),
                    "{\"peft_type\": \"PROMPT_TUNING\"}");
                PromptAdapterFiles.Load(Path.GetDirectoryName(path)!, 8);
            }, IsJson: false));
        targets.AddRange(AdapterDirectoryTargets(llama));
        targets.AddRange(VisionTargets(Path.Combine(fixturesDirectory, "parity", "vit-tiny")));
        if (tinyStoriesPath is not null && File.Exists(tinyStoriesPath))
            targets.Add(new Target("tinystories bin", File.ReadAllBytes(tinyStoriesPath), "model.bin",
                path => ModelLoader.Load(path), IsJson: false));
        return targets;
    }

    /// <summary>
    /// Every layer-adapter method's directory as that method saves it for a small model, fuzzed one file at a time
    /// (the config, the weights, files of our own) while the directory's other files stay valid.
    /// </summary>
    private static IEnumerable<Target> AdapterDirectoryTargets(string modelDirectory)
    {
        var model = ModelLoader.Load(modelDirectory).Model;
        var methods = new (string Name, Action<string> Save, Action<string> Load)[]
        {
            ("lora", dir => new LoraAdapter(model, new LoraOptions { Rank = 2 }).Save(dir, "fuzz"),
                dir => LoraAdapter.Load(dir, model)),
            ("prefix", dir => new PrefixAdapter(model.Config, new PrefixTuningOptions(3, Reparameterize: true,
                MlpHiddenSize: 8)).Save(dir, "fuzz"),
                dir => PrefixAdapterFiles.Load(dir, model.Config)),
            ("llama-adapter", dir => new LlamaAdapter(model, new LlamaAdapterOptions { Length = 3, Layers = 1 })
                .Save(dir, "fuzz"),
                dir => LlamaAdapter.Load(dir, model)),
            ("bottleneck", dir => new BottleneckAdapter(model, new BottleneckOptions { Size = 4 }).Save(dir, "fuzz"),
                dir => BottleneckAdapter.Load(dir, model)),
        };
        foreach (var (name, save, load) in methods)
            foreach (var target in DirectoryTargets(name, FilesSavedBy(name, save), load))
                yield return target;
    }

    /// <summary>A ViT folder, a VPT head + prompts directory for it, and an image task directory.</summary>
    private static IEnumerable<Target> VisionTargets(string vitDirectory)
    {
        var model = VitFiles.Load(vitDirectory);
        string[] classes = ["x", "y", "z"];
        var vitFiles = new[] { VitFiles.ConfigFile, VitFiles.WeightsFile }.ToDictionary(f => f,
            f => File.ReadAllBytes(Path.Combine(vitDirectory, f)));
        var vpt = TuningMethods.Find("vpt-deep", ModelFamilies.Vision);
        var adapterFiles = FilesSavedBy("vpt", dir => vpt.PrepareVision(new VisionContext(model, classes,
            new MethodSettings { PromptLength = 2 })).Objective.SaveAdapter(dir));
        return [
            .. DirectoryTargets("vit", vitFiles, dir => VitFiles.Load(dir)),
            .. DirectoryTargets("vpt", adapterFiles, dir => ImageClassification.LoadAdapter(dir, model, classes)),
            .. DirectoryTargets("image task", FilesSavedBy("image-task", WriteImageTask), dir => ImageTask.Load(dir)),
        ];
    }

    /// <summary>Three 4×4 images per split, as tools/make_glyphs.py lays a task out.</summary>
    private static void WriteImageTask(string directory)
    {
        Directory.CreateDirectory(directory);
        var splits = new Dictionary<string, object>();
        foreach (var split in new[] { "train", "validation", "test" })
        {
            using (var gzip = new GZipStream(File.Create(Path.Combine(directory, split + ".bin.gz")),
                CompressionLevel.Optimal))
                for (int label = 0; label < 3; label++)
                {
                    gzip.WriteByte((byte)label);
                    gzip.Write(Enumerable.Range(0, 16).Select(i => (byte)(i * 16 + label)).ToArray());
                }
            splits[split] = new { file = split + ".bin.gz", count = 3 };
        }
        File.WriteAllText(Path.Combine(directory, "index.json"),
            JsonSerializer.Serialize(new { image_size = 4, channels = 1, classes = new[] { "a", "b", "c" }, splits }));
    }

    /// <summary>The files <paramref name="save"/> writes into a fresh directory, by name.</summary>
    private static Dictionary<string, byte[]> FilesSavedBy(string name, Action<string> save)
    {
        string seedDirectory = Path.Combine(Path.GetTempPath(), $"softprompt-fuzz-{name}-{Environment.ProcessId}");
        save(seedDirectory);
        var files = Directory.GetFiles(seedDirectory).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);
        Directory.Delete(seedDirectory, recursive: true);
        return files;
    }

    /// <summary>One target per file of a directory: that file mutated, the others left valid, the directory
    /// loaded.</summary>
    private static IEnumerable<Target> DirectoryTargets(string name, Dictionary<string, byte[]> files,
        Action<string> load) =>
        files.Select(pair => new Target($"{name} {pair.Key}", pair.Value, pair.Key, path =>
        {
            string dir = Path.GetDirectoryName(path)!;
            foreach (var (other, otherBytes) in files)
                if (other != pair.Key) File.WriteAllBytes(Path.Combine(dir, other), otherBytes);
            load(dir);
        }, IsJson: pair.Key.EndsWith(".json", StringComparison.Ordinal)));

    private static byte[] SmallTokenizerJson()
    {
        var trainer = new BpeTrainer();
        trainer.Add("the cat sat on the mat; the dog ate the hat. Ünïcode too!");
        string path = Path.Combine(Path.GetTempPath(), $"softprompt-fuzz-seed-{Environment.ProcessId}.json");
        TokenizerJson.Write(path, trainer.Train(256 + 20 + 1, new[] { "<|endoftext|>" }));
        var bytes = File.ReadAllBytes(path);
        File.Delete(path);
        return bytes;
    }

    private static byte[] AdapterWeights()
    {
        string path = Path.Combine(Path.GetTempPath(), $"softprompt-fuzz-adapter-{Environment.ProcessId}.safetensors");
        SafeTensorsWriter.Write(path, new[] { (PromptAdapterFiles.TensorName, new[] { 3, 8 },
            (ReadOnlyMemory<float>)new float[24]) });
        var bytes = File.ReadAllBytes(path);
        File.Delete(path);
        return bytes;
    }
}
