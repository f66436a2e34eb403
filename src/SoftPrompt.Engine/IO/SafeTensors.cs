using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.Win32.SafeHandles;
using static SoftPrompt.Engine.IO.ModelFiles;
using static SoftPrompt.Engine.IO.TensorSourceMessages;

namespace SoftPrompt.Engine.IO;

/// <summary>
/// A Hugging Face safetensors file: an 8-byte little-endian header length N, N bytes of UTF-8 JSON describing each
/// tensor (dtype, shape, data_offsets relative to the data buffer) plus optional string "__metadata__", then the
/// raw little-endian data. <see cref="Open"/> reads and validates only the header; tensors are read on demand, so a
/// multi-gigabyte checkpoint costs memory only for the tensors asked for.
/// </summary>
public sealed class SafeTensorsFile : ITensorSource
{
    /// <summary>Far above any real header (GPT-2's is a few kB), low enough that a hostile length cannot exhaust
    /// memory.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";
    private const int ChunkBytes = 1 << 20;

    private readonly Dictionary<string, TensorInfo> _tensors;
    private readonly string[] _names;
    private readonly long _fileLength;
    private readonly long _dataStart;

    private SafeTensorsFile(string path, long fileLength, long dataStart, Dictionary<string, TensorInfo> tensors,
        string[] names, Dictionary<string, string> metadata)
    {
        SourcePath = path;
        _fileLength = fileLength;
        _dataStart = dataStart;
        _tensors = tensors;
        _names = names;
        Metadata = metadata;
    }

    public string SourcePath { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Tensor names in header order.</summary>
    public IReadOnlyCollection<string> Names => _names;

    /// <summary>Bytes after the header; tensor offsets index into this.</summary>
    public long DataLength => _fileLength - _dataStart;

    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>A copy: callers may keep or change it without touching the validated header.</summary>
    public TensorInfo Info(string name)
    {
        var info = Find(name);
        return info with { Shape = (int[])info.Shape.Clone() };
    }

    public static SafeTensorsFile Open(string path)
    {
        using var handle = OpenForReading(path);
        long fileLength = RandomAccess.GetLength(handle);
        if (fileLength < 8)
            throw new ModelFormatException(path,
                $"the file is {fileLength} bytes long, too short for the 8-byte header length that starts a " +
                $"safetensors file.");

        Span<byte> lengthField = stackalloc byte[8];
        ReadExactly(path, handle, lengthField, 0);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthField);
        if (headerLength > (ulong)(fileLength - 8))
            throw new ModelFormatException(path,
                $"the header length field says {headerLength} bytes, but only {fileLength - 8} bytes follow it " +
                $"(truncated, or not a safetensors file).");
        if (headerLength > MaxHeaderBytes)
            throw new ModelFormatException(path,
                $"the header length field says {headerLength} bytes, more than the {MaxHeaderBytes / 1_000_000} MB " +
                $"limit for a safetensors header.");

        var header = new byte[headerLength];
        ReadExactly(path, handle, header, 8);
        long dataStart = 8 + (long)headerLength;
        var (tensors, names, metadata) = ParseHeader(path, header, fileLength - dataStart);
        return new SafeTensorsFile(path, fileLength, dataStart, tensors, names, metadata);
    }

    public float[] ReadFloat32(string name, int[]? expectedShape = null)
    {
        var info = Find(name);
        CheckShape(SourcePath, info, expectedShape);
        if (info.ElementCount > Array.MaxLength)
            throw new ModelFormatException(SourcePath,
                $"tensor {Quote(name)} has {info.ElementCount} elements, more than one array can hold.");
        var values = new float[info.ElementCount];
        ReadFloat32(name, values, expectedShape);
        return values;
    }

    public void ReadFloat32(string name, Span<float> destination, int[]? expectedShape = null)
    {
        var info = Find(name);
        if (!info.DType.IsReadableAsFloat32())
            throw new ModelFormatException(SourcePath,
                $"tensor {Quote(name)} has dtype {info.DType}, which cannot be read as float32 (F32, F16, BF16 or " +
                $"F64 can).");
        using var handle = OpenTensor(name, info, expectedShape, destination.Length);
        long offset = _dataStart + info.Begin;
        switch (info.DType)
        {
            case SafeTensorsDType.F32:
                ReadExactly(SourcePath, handle, MemoryMarshal.AsBytes(destination), offset);
                break;
            case SafeTensorsDType.F16:
                ReadConverted<ushort>(handle, offset, destination, ReducedPrecision.HalfToSingle);
                break;
            case SafeTensorsDType.BF16:
                ReadConverted<ushort>(handle, offset, destination, ReducedPrecision.Bf16ToSingle);
                break;
            case SafeTensorsDType.F64:
                ReadConverted<double>(handle, offset, destination, ReducedPrecision.DoubleToSingle);
                break;
        }
    }

    public void ReadBf16(string name, Span<ushort> destination, int[]? expectedShape = null)
    {
        var info = Find(name);
        if (info.DType != SafeTensorsDType.BF16)
            throw new ModelFormatException(SourcePath,
                $"tensor {Quote(name)} has dtype {info.DType}; only a BF16 tensor can be kept in bfloat16 as it is.");
        using var handle = OpenTensor(name, info, expectedShape, destination.Length);
        ReadExactly(SourcePath, handle, MemoryMarshal.AsBytes(destination), _dataStart + info.Begin);
    }

    /// <summary>The file opened to read one tensor, once its shape (if one is expected), the destination's length and
    /// the file's size (unchanged since the header was read) are checked.</summary>
    private SafeFileHandle OpenTensor(string name, TensorInfo info, int[]? expectedShape, int destinationLength)
    {
        CheckShape(SourcePath, info, expectedShape);
        if (destinationLength != info.ElementCount)
            throw new ArgumentException(
                $"Tensor {Quote(name)} of {SourcePath} has {info.ElementCount} elements; the destination holds " +
                $"{destinationLength}.", "destination");
        var handle = OpenForReading(SourcePath);
        if (RandomAccess.GetLength(handle) != _fileLength)
        {
            long now = RandomAccess.GetLength(handle);
            handle.Dispose();
            throw new ModelFormatException(SourcePath,
                $"the file changed size since its header was read ({_fileLength} bytes then, {now} now).");
        }
        return handle;
    }

    private delegate void Converter<TSource>(ReadOnlySpan<TSource> source, Span<float> destination);

    /// <summary>Streams the stored elements through a fixed buffer, so conversion never holds a second full
    /// copy.</summary>
    private void ReadConverted<TSource>(SafeFileHandle handle, long offset, Span<float> destination,
        Converter<TSource> convert)
        where TSource : unmanaged
    {
        int elementSize = System.Runtime.CompilerServices.Unsafe.SizeOf<TSource>();
        int perChunk = ChunkBytes / elementSize;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(perChunk * elementSize);
        try
        {
            for (int done = 0; done < destination.Length; done += perChunk)
            {
                int count = Math.Min(perChunk, destination.Length - done);
                var bytes = buffer.AsSpan(0, count * elementSize);
                ReadExactly(SourcePath, handle, bytes, offset + (long)done * elementSize);
                convert(MemoryMarshal.Cast<byte, TSource>(bytes), destination.Slice(done, count));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private TensorInfo Find(string name)
        => _tensors.TryGetValue(name, out var info) ? info : throw new ModelFormatException(SourcePath,
            NotFound(name, _names));

    private static (Dictionary<string, TensorInfo>, string[], Dictionary<string, string>) ParseHeader(string path,
        byte[] header, long dataLength)
    {
        if (!Utf8.IsValid(header))
            throw new ModelFormatException(path,
                "the header is not valid UTF-8 text (not a safetensors file, or a corrupted one).");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw new ModelFormatException(path, $"the header is not valid JSON ({e.Message}).", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new ModelFormatException(path,
                    $"the header must be a JSON object of tensors, but it is {JsonFile.Describe(root)}.");

            var tensors = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
            var names = new List<string>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            bool sawMetadata = false;
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name == MetadataKey)
                {
                    if (sawMetadata) throw new ModelFormatException(path, $"the header has \"{MetadataKey}\" twice.");
                    sawMetadata = true;
                    ParseMetadata(path, property.Value, metadata);
                    continue;
                }
                if (tensors.ContainsKey(property.Name))
                    throw new ModelFormatException(path, $"the header lists tensor {Quote(property.Name)} twice.");
                tensors.Add(property.Name, ParseTensor(path, property.Name, property.Value, dataLength));
                names.Add(property.Name);
            }
            CheckNoOverlap(path, tensors.Values);
            return (tensors, names.ToArray(), metadata);
        }
    }

    private static void ParseMetadata(string path, JsonElement element, Dictionary<string, string> metadata)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new ModelFormatException(path,
                $"\"{MetadataKey}\" must be an object of strings, but it is {JsonFile.Describe(element)}.");
        foreach (var entry in element.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw new ModelFormatException(path,
                    $"\"{MetadataKey}\" entry {Quote(entry.Name)} must be a string, but it is " +
                    $"{JsonFile.Describe(entry.Value)}.");
            metadata[entry.Name] = entry.Value.GetString()!;
        }
    }

    private static TensorInfo ParseTensor(string path, string name, JsonElement entry, long dataLength)
    {
        string tensor = $"tensor {Quote(name)}";
        ModelFormatException Bad(string problem) => new(path, $"{tensor} {problem}");

        if (entry.ValueKind != JsonValueKind.Object)
            throw Bad(
                $"must be described by an object with dtype, shape and data_offsets, but it is " +
                $"{JsonFile.Describe(entry)}.");
        JsonElement Field(string field)
            => entry.TryGetProperty(field, out var value) ? value : throw Bad($"has no \"{field}\" field.");

        var dtypeField = Field("dtype");
        if (dtypeField.ValueKind != JsonValueKind.String)
            throw Bad($"has a dtype that is {JsonFile.Describe(dtypeField)}, not a string.");
        string dtypeText = dtypeField.GetString()!;
        if (!SafeTensorsDTypes.TryParse(dtypeText, out var dtype))
            throw Bad(
                $"has unknown dtype {Quote(dtypeText)} (known: " +
                    $"{string.Join(", ", Enum.GetNames<SafeTensorsDType>())}).");

        var shapeField = Field("shape");
        if (shapeField.ValueKind != JsonValueKind.Array)
            throw Bad($"has a shape that is {JsonFile.Describe(shapeField)}, not an array of sizes.");
        var shape = new int[shapeField.GetArrayLength()];
        bool empty = false;
        int axis = 0;
        foreach (var dim in shapeField.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out long size))
                throw Bad($"has shape entry {dim.GetRawText()} that is not a whole number.");
            if (size < 0) throw Bad($"has a negative dimension {size} in its shape.");
            if (size > int.MaxValue)
                throw Bad($"has dimension {size}, beyond the {int.MaxValue} we support (overflowing shape).");
            shape[axis++] = (int)size;
            empty |= size == 0;
        }
        long elements = 1;
        foreach (int size in shape)
        {
            if (empty) { elements = 0; break; }
            if (elements > long.MaxValue / size / dtype.SizeOf())
                throw Bad($"has shape {Shape(shape)}, whose byte size overflows 64 bits.");
            elements *= size;
        }

        var offsetsField = Field("data_offsets");
        if (offsetsField.ValueKind != JsonValueKind.Array || offsetsField.GetArrayLength() != 2)
            throw Bad($"has data_offsets {Truncate(offsetsField.GetRawText())}, not an array [begin, end].");
        long begin = Offset(offsetsField[0]), end = Offset(offsetsField[1]);
        long Offset(JsonElement e)
            => e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out long v) && v >= 0
                ? v : throw Bad($"has data offset {Truncate(e.GetRawText())} that is not a non-negative whole number.");
        if (begin > end)
            throw Bad($"has data_offsets [{begin}, {end}]: begin is after end.");
        if (end > dataLength)
            throw Bad($"ends at data byte {end}, past the end of the {dataLength}-byte data buffer (truncated file?).");
        long needed = elements * dtype.SizeOf();
        if (end - begin != needed)
            throw Bad($"occupies {end - begin} bytes, but {dtype} with shape {Shape(shape)} needs {needed}.");
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    /// <summary>Gaps are tolerated (some writers align tensors); shared bytes never are, as they mean a corrupt
    /// index.</summary>
    private static void CheckNoOverlap(string path, IEnumerable<TensorInfo> tensors)
    {
        var byStart = tensors.Where(t => t.ByteLength > 0).OrderBy(t => t.Begin).ToArray();
        TensorInfo? furthest = null;
        foreach (var tensor in byStart)
        {
            if (furthest is not null && tensor.Begin < furthest.End)
                throw new ModelFormatException(path,
                    $"tensors {Quote(furthest.Name)} (data bytes {furthest.Begin}..{furthest.End}) and " +
                        $"{Quote(tensor.Name)} (data bytes {tensor.Begin}..{tensor.End}) overlap.");
            if (furthest is null || tensor.End > furthest.End) furthest = tensor;
        }
    }

    private static string Truncate(string text) => text.Length <= 80 ? text : text[..80] + "…";
}

/// <summary>Writes safetensors files that Hugging Face's loaders read, in F32, F16 or BF16.</summary>
public static class SafeTensorsWriter
{
    private const int ChunkElements = 1 << 18;

    /// <summary>
    /// Writes the tensors back to back in the order given. The file appears at <paramref name="path"/> only when
    /// complete and flushed to disk (written to path + ".tmp", then renamed), so a crash never leaves a torn
    /// checkpoint.
    /// </summary>
    public static void Write(string path, IEnumerable<(string Name, int[] Shape, ReadOnlyMemory<float> Data)> tensors,
        SafeTensorsDType dtype = SafeTensorsDType.F32, IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (dtype is not (SafeTensorsDType.F32 or SafeTensorsDType.F16 or SafeTensorsDType.BF16))
            throw new ArgumentException($"Can write F32, F16 or BF16 safetensors, not {dtype}.", nameof(dtype));
        var list = tensors.ToList();
        byte[] header = BuildHeader(list, dtype, metadata);

        string temporary = path + ".tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None,
                bufferSize: 1 << 16))
            {
                Span<byte> lengthField = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(lengthField, (ulong)header.Length);
                stream.Write(lengthField);
                stream.Write(header);
                foreach (var tensor in list) WriteData(stream, tensor.Data.Span, dtype);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(temporary); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>Writes named tensors (parameters); every tensor needs a <see cref="Tensor.Name"/>.</summary>
    public static void Write(string path, IEnumerable<Tensor> tensors, SafeTensorsDType dtype = SafeTensorsDType.F32,
        IReadOnlyDictionary<string, string>? metadata = null)
        => Write(path, tensors.Select(t => (
                t.Name ?? throw new ArgumentException(
                    $"A tensor of shape {Shape(t.Shape)} has no name to save it under."),
                t.Shape,
                (ReadOnlyMemory<float>)t.RawData.AsMemory(t.Offset, t.Length))),
            dtype, metadata);

    private static byte[] BuildHeader(List<(string Name, int[] Shape, ReadOnlyMemory<float> Data)> tensors,
        SafeTensorsDType dtype, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                writer.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata) writer.WriteString(key, value);
                writer.WriteEndObject();
            }
            var seen = new HashSet<string>(StringComparer.Ordinal);
            long offset = 0;
            foreach (var (name, shape, data) in tensors)
            {
                if (string.IsNullOrEmpty(name) || name == "__metadata__")
                    throw new ArgumentException($"{Quote(name ?? "")} cannot name a tensor in a safetensors file.");
                if (!seen.Add(name)) throw new ArgumentException($"Tensor {Quote(name)} is given twice.");
                if (Tensor.ShapeLength(shape) != data.Length)
                    throw new ArgumentException(
                        $"Tensor {Quote(name)} has shape {Shape(shape)} but {data.Length} values.");
                long end = offset + (long)data.Length * dtype.SizeOf();
                writer.WriteStartObject(name);
                writer.WriteString("dtype", dtype.ToString());
                writer.WriteStartArray("shape");
                foreach (int size in shape) writer.WriteNumberValue(size);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(end);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset = end;
            }
            writer.WriteEndObject();
        }
        // The reference writer pads the header with spaces so the data buffer starts 8-byte aligned; readers that map
        // the file and cast in place depend on it.
        int padded = (json.WrittenCount + 7) / 8 * 8;
        var header = new byte[padded];
        json.WrittenSpan.CopyTo(header);
        header.AsSpan(json.WrittenCount).Fill((byte)' ');
        return header;
    }

    private static void WriteData(Stream stream, ReadOnlySpan<float> values, SafeTensorsDType dtype)
    {
        if (dtype == SafeTensorsDType.F32)
        {
            stream.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        ushort[] buffer = ArrayPool<ushort>.Shared.Rent(Math.Min(ChunkElements, Math.Max(values.Length, 1)));
        try
        {
            for (int done = 0; done < values.Length; done += buffer.Length)
            {
                int count = Math.Min(buffer.Length, values.Length - done);
                var chunk = buffer.AsSpan(0, count);
                if (dtype == SafeTensorsDType.F16) ReducedPrecision.SingleToHalf(values.Slice(done, count), chunk);
                else ReducedPrecision.SingleToBf16(values.Slice(done, count), chunk);
                stream.Write(MemoryMarshal.AsBytes((ReadOnlySpan<ushort>)chunk));
            }
        }
        finally
        {
            ArrayPool<ushort>.Shared.Return(buffer);
        }
    }
}
