using SoftPrompt.Data.Tasks;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Models;
using SoftPrompt.Training.Progress;

namespace SoftPrompt.Tuning.PromptTuning;

/// <summary>A training example and the index of the task (and so the prompt) it belongs to.</summary>
public sealed record TaskExample(int Task, LabeledExample Example);

/// <summary>
/// Several classification tasks over one frozen model, one soft prompt each, trained together: a batch mixes rows of
/// every task in one <see cref="MixedPromptBatch"/> forward pass. The loss is the sum over the tasks in the batch of
/// each task's mean label cross-entropy, so each prompt's gradient is exactly what its own rows alone would give
/// (<see cref="PromptClassifier.Loss"/>), however many rows the other tasks bring.
/// </summary>
public sealed class MultiTaskPromptObjective : IPromptObjective<TaskExample>
{
    private readonly CausalLanguageModel _model;

    /// <param name="tasks">One classifier per task, each with its own prompt; prompt names must differ (checkpoints
    /// store the prompts by name).</param>
    public MultiTaskPromptObjective(CausalLanguageModel model, IReadOnlyList<PromptClassifier> tasks)
    {
        if (tasks.Count == 0) throw new ArgumentException("Multi-task tuning needs at least one task.");
        foreach (var task in tasks)
        {
            if (task.Prompt is null) throw new ArgumentException($"Task {task.Task.Name} has no prompt to train.");
            // Layer hooks apply to a whole forward pass, so rows of tasks with different hooks cannot share one.
            if (task.Adapter is not null)
                throw new ArgumentException(
                    $"Task {task.Task.Name} has layer hooks; multi-task batches mix soft prompts only.");
        }
        var duplicate = tasks.GroupBy(t => t.Prompt!.Prompt.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException(
                $"Several tasks' prompts are named '{duplicate.Key}'; give each task's prompt its own name.");
        _model = model;
        Tasks = tasks;
    }

    public IReadOnlyList<PromptClassifier> Tasks { get; }
    public IReadOnlyList<Tensor> Prompts => Tasks.Select(t => t.Prompt!.Prompt).ToList();

    /// <summary>No single prompt: the tuner trains <see cref="Prompts"/>.</summary>
    public PromptEmbedding? Prompt => null;
    public string ScoreName => "mean_accuracy";

    public Tensor Loss(Tape tape, IReadOnlyList<TaskExample> batch)
    {
        // A task trained with the label-choice loss runs only through the tokens where its labels part.
        var choice = Tasks.Select(t => t.TrainingChoice).ToArray();
        var rows = batch.Select(e =>
        {
            var task = Tasks[e.Task];
            var target = task.LabelTokens[e.Example.Label];
            return (e.Task, task.Prompt, Input: task.InputTokens(e.Example), Target: choice[e.Task] is var (shared, _)
                ? target[..(shared + 1)] : target);
        }).ToList();
        var mixed = MixedPromptBatch.Build(tape, _model,
            rows.Select(r => new PromptedRow(r.Prompt, [.. r.Input, .. r.Target])).ToList());
        var positions = mixed.PredictingPositions(rows.Select(r => r.Target.Length).ToList());
        var hidden = _model.Hidden(tape, mixed.Input);
        var predicting = Fn.Embedding(tape, hidden.Reshape(rows.Count * mixed.Length, _model.Config.HiddenSize),
            positions);
        var logits = choice.All(c => c is not null) ? null : _model.Logits(tape, predicting);
        var rowStarts = new int[rows.Count + 1];
        for (int r = 0; r < rows.Count; r++) rowStarts[r + 1] = rowStarts[r] + rows[r].Target.Length;
        Tensor? loss = null;
        foreach (int task in rows.Select(r => r.Task).Distinct())
        {
            Tensor taskLoss;
            if (choice[task] is not null)
            {
                var mine = Enumerable.Range(0, rows.Count).Where(r => rows[r].Task == task).ToArray();
                taskLoss = Tasks[task].LabelChoiceLoss(tape, predicting, mine.Select(r => rowStarts[r]),
                    mine.Select(r => batch[r].Example.Label));
            }
            else
            {
                // Targets of the other tasks' rows are ignored, so this is the task's own mean over its label tokens.
                var targets = rows.SelectMany(r => r.Task == task ? r.Target : Enumerable.Repeat(-100, r.Target.Length))
                    .ToArray();
                taskLoss = Fn.CrossEntropy(tape, logits!, targets);
            }
            loss = loss is null ? taskLoss : Fn.Add(tape, loss, taskLoss);
        }
        return loss!;
    }

    /// <summary>Mean over tasks of each task's accuracy on its validation examples (tasks weigh equally).</summary>
    public double Score(IReadOnlyList<TaskExample> examples) =>
        examples.GroupBy(e => e.Task).Average(g => Tasks[g.Key].Accuracy(g.Select(e => e.Example).ToList(),
            Tasks[g.Key].LengthNormalized));
}

/// <summary>
/// Prompt tuning of several tasks at once (<see cref="MultiTaskPromptObjective"/>) with everything
/// <see cref="PromptTuner{TExample}"/> does: schedule, clipping, validation with the best prompts kept, checkpoints
/// and resume. Training examples of all tasks are drawn from one pool, so a batch mixes tasks in their proportions.
/// </summary>
public sealed class MultiTaskPromptTuner(MultiTaskPromptObjective objective, PromptTuningOptions options,
    ITrainingProgress? progress = null)
{
    public PromptTuningResult Run(IReadOnlyList<TaskExample> train, IReadOnlyList<TaskExample> validation,
        string? checkpointDirectory = null, bool resume = false, CancellationToken cancel = default) =>
        new PromptTuner<TaskExample>(objective, options, progress, objective.Prompts).Run(train, validation,
            checkpointDirectory, resume, cancel);
}
