namespace SoftPrompt.Training.Corpus;

/// <summary>Plain-text corpora as data/corpus holds them: UTF-8, documents separated by blank lines.</summary>
public static class TextCorpus
{
    public static List<string> ReadDocuments(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"No corpus file at '{path}'. Build the corpus with `bash tools/make_data.sh`.", path);
        var documents = new List<string>();
        var current = new System.Text.StringBuilder();
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length == 0)
            {
                if (current.Length > 0) { documents.Add(current.ToString()); current.Clear(); }
                continue;
            }
            if (current.Length > 0) current.Append('\n');
            current.Append(line);
        }
        if (current.Length > 0) documents.Add(current.ToString());
        if (documents.Count == 0) throw new InvalidDataException($"{path}: the corpus holds no text.");
        return documents;
    }
}
