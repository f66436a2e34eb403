using System.IO.Compression;
using System.Text.Json;

namespace SoftPrompt.Data.Images;

/// <summary>One image, pixels in [0, 1] (channel, row, column order), and its class index.</summary>
public sealed record LabelledImage(float[] Pixels, int Label);

/// <summary>
/// An image classification task as data/glyphs ships it: index.json (image size, class names, one file per split)
/// and per split a gzip of records [label: uint8][pixels: uint8 × channels·size²].
/// </summary>
public sealed record ImageTask(string Name, int ImageSize, int Channels, IReadOnlyList<string> Classes,
    IReadOnlyList<LabelledImage> Train, IReadOnlyList<LabelledImage> Validation, IReadOnlyList<LabelledImage> Test)
{
    public static ImageTask Load(string directory)
    {
        string indexPath = Path.Combine(directory, "index.json");
        using var index = JsonDocument.Parse(File.ReadAllBytes(indexPath));
        var root = index.RootElement;
        int size = root.GetProperty("image_size").GetInt32();
        int channels = root.GetProperty("channels").GetInt32();
        var classes = root.GetProperty("classes").EnumerateArray().Select(c => c.GetString()!).ToArray();
        var splits = root.GetProperty("splits");
        IReadOnlyList<LabelledImage> Split(string name)
        {
            var split = splits.GetProperty(name);
            string path = Path.Combine(directory, split.GetProperty("file").GetString()!);
            var images = Read(path, channels * size * size, classes.Length);
            int expected = split.GetProperty("count").GetInt32();
            if (images.Count != expected)
                throw new InvalidDataException($"{path}: {images.Count} images, but {indexPath} says {expected}.");
            return images;
        }
        return new ImageTask(Path.GetFileName(Path.TrimEndingDirectorySeparator(directory)), size, channels, classes,
            Split("train"), Split("validation"), Split("test"));
    }

    private static List<LabelledImage> Read(string path, int pixels, int classCount)
    {
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var bytes = new MemoryStream();
        gzip.CopyTo(bytes);
        var data = bytes.GetBuffer().AsSpan(0, (int)bytes.Length);
        int record = 1 + pixels;
        if (data.Length % record != 0)
            throw new InvalidDataException($"{path}: {data.Length} bytes are not whole records of 1 + {pixels} bytes.");
        var images = new List<LabelledImage>(data.Length / record);
        for (int start = 0; start < data.Length; start += record)
        {
            int label = data[start];
            if (label >= classCount) throw new InvalidDataException($"{path}: record {start / record} has label {label}, but there are {classCount} classes.");
            var values = new float[pixels];
            for (int i = 0; i < pixels; i++) values[i] = data[start + 1 + i] / 255f;
            images.Add(new LabelledImage(values, label));
        }
        return images;
    }
}
