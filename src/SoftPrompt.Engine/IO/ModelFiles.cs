using Microsoft.Win32.SafeHandles;

namespace SoftPrompt.Engine.IO;

/// <summary>File access for model readers, turning the usual failures into
/// <see cref="ModelFormatException"/>s.</summary>
public static class ModelFiles
{
    public static SafeFileHandle OpenForReading(string path)
    {
        // A FIFO or a device reports length 0 and blocks (or never ends) when opened; no file we read is empty, so an
        // empty one is refused before it is opened (a FIFO named adapter_config.json once hung the server).
        if (new FileInfo(path) is { Exists: true, Length: 0 })
            throw new ModelFormatException(path, "the file is empty (or not a regular file).");
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (FileNotFoundException e)
        {
            throw new ModelFormatException(path, "the file does not exist.", e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new ModelFormatException(path, "the file's directory does not exist.", e);
        }
    }

    /// <summary>Fills <paramref name="destination"/> from <paramref name="offset"/>; a short file is a format
    /// error.</summary>
    public static void ReadExactly(string path, SafeFileHandle handle, Span<byte> destination, long offset)
    {
        while (!destination.IsEmpty)
        {
            int read = RandomAccess.Read(handle, destination, offset);
            if (read == 0)
                throw new ModelFormatException(path,
                    $"the file ended at byte {offset}, earlier than its header implies (was it truncated while being " +
                    $"read?).");
            destination = destination[read..];
            offset += read;
        }
    }
}
