using System.Text.Json;
using static SoftPrompt.Engine.IO.TensorSourceMessages;

namespace SoftPrompt.Engine.IO;

/// <summary>
/// A sharded checkpoint: <c>model.safetensors.index.json</c> ({"metadata": {...}, "weight_map": {tensor: shard}})
/// beside its shard files, presented as one set of tensors. Opening validates every shard's header and that each
/// shard holds the tensors the index maps to it; tensor data is still read on demand.
/// </summary>
public sealed class SafeTensorsIndex : ITensorSource
{
    public const string DefaultFileName = "model.safetensors.index.json";
    public const string SingleFileName = "model.safetensors";

    private readonly Dictionary<string, SafeTensorsFile> _shardOf;
    private readonly string[] _names;

    private SafeTensorsIndex(string path, Dictionary<string, SafeTensorsFile> shardOf, string[] names,
        IReadOnlyList<string> shardPaths, Dictionary<string, string> metadata)
    {
        SourcePath = path;
        _shardOf = shardOf;
        _names = names;
        ShardPaths = shardPaths;
        Metadata = metadata;
    }

    public string SourcePath { get; }

    /// <summary>The index's "metadata" (e.g. total_size); values that are not JSON strings are kept as JSON
    /// text.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public IReadOnlyList<string> ShardPaths { get; }

    /// <summary>Tensor names in weight_map order.</summary>
    public IReadOnlyCollection<string> Names => _names;

    public bool Contains(string name) => _shardOf.ContainsKey(name);
    public TensorInfo Info(string name) => Shard(name).Info(name);
    public float[] ReadFloat32(string name, int[]? expectedShape = null) => Shard(name).ReadFloat32(name,
        expectedShape);
    public void ReadFloat32(string name, Span<float> destination, int[]? expectedShape = null) =>
        Shard(name).ReadFloat32(name, destination, expectedShape);
    public void ReadBf16(string name, Span<ushort> destination, int[]? expectedShape = null) =>
        Shard(name).ReadBf16(name, destination, expectedShape);

    /// <summary>The safetensors file that holds a tensor.</summary>
    public SafeTensorsFile Shard(string name)
        => _shardOf.TryGetValue(name, out var shard) ? shard : throw new ModelFormatException(SourcePath,
            NotFound(name, _names, "the index"));

    /// <summary>
    /// Opens a checkpoint however it is laid out: a folder (its index if there is one, else its model.safetensors),
    /// an index file, or a single safetensors file.
    /// </summary>
    public static ITensorSource OpenCheckpoint(string path)
    {
        if (Directory.Exists(path))
        {
            string index = Path.Combine(path, DefaultFileName);
            if (File.Exists(index)) return Open(index);
            string single = Path.Combine(path, SingleFileName);
            if (File.Exists(single)) return SafeTensorsFile.Open(single);
            throw new ModelFormatException(path, $"the folder has neither {DefaultFileName} nor {SingleFileName}.");
        }
        return path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? Open(path) : SafeTensorsFile.Open(path);
    }

    public static SafeTensorsIndex Open(string indexPath)
    {
        using var document = JsonFile.Load(indexPath);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException(indexPath,
                $"the index must be a JSON object, but it is {JsonFile.Describe(root)}.");
        if (!root.TryGetProperty("weight_map", out var weightMap))
            throw new ModelFormatException(indexPath, "the index has no \"weight_map\" field.");
        if (weightMap.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException(indexPath,
                $"\"weight_map\" must be an object of tensor name to shard file, but it is " +
                $"{JsonFile.Describe(weightMap)}.");

        string folder = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var shardsByFile = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
        var shardPaths = new List<string>();
        var shardOf = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
        var names = new List<string>();
        foreach (var entry in weightMap.EnumerateObject())
        {
            string tensor = Quote(entry.Name);
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw new ModelFormatException(indexPath,
                    $"weight_map entry for tensor {tensor} must be a shard file name, but it is " +
                    $"{JsonFile.Describe(entry.Value)}.");
            string file = entry.Value.GetString()!;
            if (!IsPlainFileName(file))
                throw new ModelFormatException(indexPath,
                    $"weight_map maps tensor {tensor} to {Quote(file)}, which is not a plain file name in the " +
                    $"index's folder.");
            if (shardOf.ContainsKey(entry.Name))
                throw new ModelFormatException(indexPath, $"weight_map lists tensor {tensor} twice.");

            if (!shardsByFile.TryGetValue(file, out var shard))
            {
                string shardPath = Path.Combine(folder, file);
                if (!File.Exists(shardPath))
                    throw new ModelFormatException(indexPath,
                        $"weight_map maps tensor {tensor} to shard {Quote(file)}, but there is no such file: " +
                        $"{shardPath}.");
                shard = SafeTensorsFile.Open(shardPath);
                shardsByFile.Add(file, shard);
                shardPaths.Add(shardPath);
            }
            if (!shard.Contains(entry.Name))
                throw new ModelFormatException(indexPath,
                    $"weight_map maps tensor {tensor} to shard {Quote(file)}, but that shard lacks it: " +
                    $"{NotFound(entry.Name, shard.Names, "the shard")}");
            shardOf.Add(entry.Name, shard);
            names.Add(entry.Name);
        }
        return new SafeTensorsIndex(indexPath, shardOf, names.ToArray(), shardPaths, ReadMetadata(root));
    }

    private static bool IsPlainFileName(string file)
        => file.Length > 0 && file != "." && file != ".." && Path.GetFileName(file) == file
           && file.IndexOfAny(['/', '\\']) < 0 && !Path.IsPathRooted(file);

    private static Dictionary<string, string> ReadMetadata(JsonElement root)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (root.TryGetProperty("metadata", out var element) && element.ValueKind == JsonValueKind.Object)
        {
            foreach (var entry in element.EnumerateObject())
                metadata[entry.Name] = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()!
                    : entry.Value.GetRawText();
        }
        return metadata;
    }
}
