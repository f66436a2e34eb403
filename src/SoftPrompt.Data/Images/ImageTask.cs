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
    /// <summary>Largest image side and channel count we accept: far beyond any task here, small enough that no size
    /// overflows.</summary>
    private const int MaxImageSize = 1024, MaxChannels = 4;

    public static ImageTask Load(string directory)
    {
        string indexPath = Path.Combine(directory, "index.json");
        try
        {
            using var index = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            var root = index.RootElement;
            int size = root.GetProperty("image_size").GetInt32();
            int channels = root.GetProperty("channels").GetInt32();
            if (size is < 1 or > MaxImageSize || channels is < 1 or > MaxChannels)
                throw new InvalidDataException(
                    $"image_size {size} and channels {channels} must be within 1..{MaxImageSize} and " +
                        $"1..{MaxChannels}.");
            var classes = root.GetProperty("classes").EnumerateArray().Select(c => c.GetString()
                ?? throw new InvalidDataException("a class name is null.")).ToArray();
            if (classes.Length is < 2 or > 256)
                throw new InvalidDataException($"{classes.Length} classes; a uint8 label needs 2..256.");
            var splits = root.GetProperty("splits");
            IReadOnlyList<LabelledImage> Split(string name)
            {
                var split = splits.GetProperty(name);
                string file = split.GetProperty("file").GetString() ?? throw new InvalidDataException(
                    $"split {name} names no file.");
                if (Path.GetFileName(file) != file)
                    throw new InvalidDataException(
                        $"split {name}'s file \"{file}\" is not a file name in the task's folder.");
                return Read(Path.Combine(directory, file), channels * size * size, classes.Length,
                    split.GetProperty("count").GetInt32());
            }
            return new ImageTask(Path.GetFileName(Path.TrimEndingDirectorySeparator(directory)), size, channels,
                classes,
                Split("train"), Split("validation"), Split("test"));
        }
        catch (Exception e) when (
            e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException
                or InvalidDataException)
        {
            throw new InvalidDataException($"{indexPath}: {e.Message}", e);
        }
    }

    /// <summary>The split's records; the index's count bounds how much is decompressed, so a corrupt file cannot ask
    /// for more.</summary>
    private static List<LabelledImage> Read(string path, int pixels, int classCount, int expected)
    {
        int record = 1 + pixels;
        if (expected < 0 || (long)expected * record > int.MaxValue)
            throw new InvalidDataException($"{path}: a count of {expected} records of {record} bytes is out of range.");
        long wanted = (long)expected * record;
        var data = new MemoryStream();
        try
        {
            // Read in chunks rather than allocate what the count claims: the count may be corrupt too.
            using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
            var chunk = new byte[1 << 16];
            int n;
            while (data.Length <= wanted
                && (n = gzip.Read(chunk, 0, (int)Math.Min(chunk.Length, wanted + 1 - data.Length))) > 0)
                data.Write(chunk, 0, n);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        if (data.Length != wanted)
        {
            string found = data.Length > wanted ? $"more than {wanted}" : data.Length.ToString();
            throw new InvalidDataException(
                $"{path}: {found} bytes where the index says {expected} records of {record} bytes.");
        }
        var bytes = data.GetBuffer();
        var images = new List<LabelledImage>(expected);
        for (int start = 0; start < wanted; start += record)
        {
            int label = bytes[start];
            if (label >= classCount)
                throw new InvalidDataException(
                    $"{path}: record {start / record} has label {label}, but there are {classCount} classes.");
            var values = new float[pixels];
            for (int i = 0; i < pixels; i++) values[i] = bytes[start + 1 + i] / 255f;
            images.Add(new LabelledImage(values, label));
        }
        return images;
    }
}
