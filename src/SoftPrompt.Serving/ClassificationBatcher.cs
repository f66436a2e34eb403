using System.Threading.Channels;
using SoftPrompt.Models;
using SoftPrompt.Tuning.PromptTuning;

namespace SoftPrompt.Serving;

/// <summary>
/// Dynamic batching across tasks: classification requests wait in a queue; one worker takes everything waiting (up
/// to a batch limit) and scores it in shared mixed-prompt forward passes, whatever task each request is for. The
/// model is used by this worker only, so requests never race on it.
/// </summary>
public sealed class ClassificationBatcher : IAsyncDisposable
{
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>();
    private readonly CausalLanguageModel _model;
    private readonly SemaphoreSlim _modelLock;
    private readonly Task _worker;
    private readonly int _maxRequests;

    private sealed record Pending(ServedTask Task, IReadOnlyDictionary<string, string> Fields,
        TaskCompletionSource<double[]> Result, CancellationToken Cancel);

    private readonly int _maxQueued;
    private int _queued;

    public ClassificationBatcher(CausalLanguageModel model, SemaphoreSlim modelLock, int maxRequestsPerBatch = 32,
        int maxQueued = int.MaxValue)
    {
        _model = model;
        _modelLock = modelLock;
        _maxRequests = maxRequestsPerBatch;
        _maxQueued = maxQueued;
        _worker = Task.Run(WorkAsync);
    }

    /// <summary>Largest batch the worker has run, for tests and logs.</summary>
    public int LargestBatch { get; private set; }

    /// <summary>Label log-probabilities for the input (the template's fields) under the task's prompt. Throws
    /// <see cref="ServerBusyException"/> when the queue is full (<paramref name="bypassLimit"/>: the server's own trial
    /// requests).</summary>
    public Task<double[]> ScoreAsync(ServedTask task, IReadOnlyDictionary<string, string> fields,
        CancellationToken cancel, bool bypassLimit = false)
    {
        if (Interlocked.Increment(ref _queued) > _maxQueued && !bypassLimit)
        {
            Interlocked.Decrement(ref _queued);
            throw new ServerBusyException(
                $"{_maxQueued} requests are already waiting for the model; try again shortly.");
        }
        var pending = new Pending(task, fields,
            new TaskCompletionSource<double[]>(TaskCreationOptions.RunContinuationsAsynchronously), cancel);
        if (!_queue.Writer.TryWrite(pending))
        {
            Interlocked.Decrement(ref _queued);
            throw new InvalidOperationException("The server is shutting down.");
        }
        return pending.Result.Task.WaitAsync(cancel);
    }

    /// <summary>Requests taken into the queue and not yet answered.</summary>
    public int Queued => Volatile.Read(ref _queued);

    // Batches run one at a time under the model lock, so one tape's pool serves them all.
    private readonly Engine.Tape _tape = new(recording: false);

    private async Task WorkAsync()
    {
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync())
        {
            var batch = new List<Pending>();
            while (batch.Count < _maxRequests && reader.TryRead(out var p))
            {
                if (!p.Cancel.IsCancellationRequested) batch.Add(p);
                else Interlocked.Decrement(ref _queued);
            }
            if (batch.Count == 0) continue;
            LargestBatch = Math.Max(LargestBatch, batch.Count);
            await _modelLock.WaitAsync();
            try
            {
                var scores = MixedScoring.LabelScores(_model,
                    batch.Select(p => (p.Task.Classifier!, p.Task.Example(p.Fields))).ToList(),
                    tape: _tape);
                for (int i = 0; i < batch.Count; i++) batch[i].Result.TrySetResult(scores[i]);
            }
            catch (Exception e)
            {
                foreach (var p in batch) p.Result.TrySetException(e);
            }
            finally
            {
                _modelLock.Release();
                Interlocked.Add(ref _queued, -batch.Count);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _worker;
    }
}

/// <summary>The queue of requests waiting for the model is full.</summary>
public sealed class ServerBusyException(string message) : Exception(message);
