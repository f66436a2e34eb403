using SoftPrompt.Data.Tasks;
using SoftPrompt.Data.Tokenizers;
using SoftPrompt.Engine;
using SoftPrompt.Engine.Autograd;
using SoftPrompt.Engine.Ops;
using SoftPrompt.Models;
using SoftPrompt.Models.Formats;
using SoftPrompt.Tests.Models;
using SoftPrompt.Tests.Support;
using SoftPrompt.Tuning.EncoderDecoder;
using SoftPrompt.Tuning.PrefixTuning;
using SoftPrompt.Tuning.PromptTuning;
using Xunit;

namespace SoftPrompt.Tests.EncoderDecoder;

/// <summary>Prompt and prefix tuning on a T5, and text-to-text label scoring.</summary>
public class T5TuningTests
{
    // transformers' defaults (32 buckets, max distance 128), worked through its formula by hand: bidirectional halves
    // are 16 buckets, exact below 8; causal attention has 32 for the past, exact below 16, and puts the future in 0.
    [Theory]
    [InlineData(0, true, 0)]
    [InlineData(-1, true, 1)]
    [InlineData(1, true, 17)]
    [InlineData(-7, true, 7)]
    [InlineData(-8, true, 8)]     // 8 + ⌊ln(8/8) / ln(128/8) · 8⌋
    [InlineData(-32, true, 12)]   // 8 + ⌊ln 4 / ln 16 · 8⌋ = 8 + 4
    [InlineData(-500, true, 15)]  // past max distance: the last bucket of the half
    [InlineData(500, true, 31)]
    [InlineData(5, false, 0)]
    [InlineData(-15, false, 15)]
    [InlineData(-64, false, 26)]  // 16 + ⌊ln 4 / ln 8 · 16⌋ = 16 + ⌊10.67⌋
    [InlineData(-1000, false, 31)]
    public void Relative_position_buckets_follow_t5s_formula(int relative, bool bidirectional, int bucket)
        => Assert.Equal(bucket, RelativePositionBias.Bucket(relative, bidirectional, 32, 128));

    internal static (T5 Model, ITokenizer Tokenizer) TinyT5(int seed = 3)
    {
        var tokenizer = TokenizerLoader.Load(ShippedModelTests.RepositoryPath("models/base-tiny/tokenizer.json"));
        var model = new T5(new ModelConfig
        {
            Architecture = Architecture.T5, VocabSize = tokenizer.VocabSize, HiddenSize = 16, NumLayers = 2,
            DecoderLayers = 2,
            NumHeads = 2, NumKvHeads = 2, IntermediateSize = 24, MaxPositions = 512, RelativeAttentionBuckets = 8,
            RelativeAttentionMaxDistance = 16, HiddenAct = "relu", PadTokenId = 0, EosTokenId = tokenizer.EosId,
        });
        model.InitializeRandom(seed);
        model.SetTrainable(false);
        return (model, tokenizer);
    }

    private static readonly ClassificationTask Mood = MoodTask.Task();

    [Fact]
    public void Prefix_rows_in_encoder_and_decoder_get_their_finite_difference_gradients()
    {
        var (model, _) = TinyT5();
        var adapter = new PrefixAdapter(model.AdapterConfig, PrefixTuningOptions.DeepPrompt(3));
        // small rows keep float32 finite differences precise; the encoder's second row is padded after 4 tokens
        var rows = adapter.Trainable[0];
        for (int i = 0; i < rows.Length; i++) rows.Span[i] *= 0.5f;
        int[] source = [5, 9, 14, 3, 7, 7, 20, 31, 2, 4, 0, 0], target = [0, 12, 6, 0, 8, 8];
        var padding = new bool[12];
        padding[10] = padding[11] = true;
        GradCheck.Check((tape, _) =>
        {
            var hooks = adapter.Hooks(new int[2]);
            var encoded = model.Encode(tape, new ForwardInput { Batch = 2, Length = 6, TokenIds = source,
                Padding = padding, Hooks = hooks });
            return model.Logits(tape, model.Decode(tape, new ForwardInput { Batch = 2, Length = 3, TokenIds = target,
                Hooks = hooks }, encoded, padding));
        }, [rows], eps: 1e-2, tolerance: 5e-3);
    }

    [Fact]
    public void Label_scores_are_the_decoders_log_probabilities_of_each_row_alone()
    {
        var (model, tokenizer) = TinyT5();
        var prompt = new PromptEmbedding(4, model.Config.HiddenSize);
        prompt.InitializeUniform(5);
        var classifier = new T5Classifier(model, tokenizer, Mood, prompt);
        var examples = MoodTask.Examples();
        var batched = classifier.LabelLogProbabilities(examples, batchSize: examples.Length);
        for (int i = 0; i < examples.Length; i++)
        {
            var alone = classifier.LabelLogProbabilities([examples[i]], batchSize: 1)[0];
            for (int l = 0; l < Mood.Labels.Count; l++)
            {
                Assert.Equal(alone[l], batched[i][l], 4);
                Assert.Equal(ByHandLogProbability(model, prompt, classifier.InputTokens(examples[i]),
                    classifier.LabelTokens[Mood.Labels[l]]), alone[l], 4);
            }
        }
        double goldLoss = examples.Select((e, i) =>
            -batched[i][Mood.Labels.ToList().IndexOf(e.Label)] / classifier.LabelTokens[e.Label].Length).Average();
        Assert.Equal(goldLoss, classifier.GoldLabelLoss(examples), 4);
    }

    // log Pr(target | [P; input]) from one full forward pass and a float64 log-softmax.
    private static double ByHandLogProbability(T5 model, PromptEmbedding prompt, int[] input, int[] target)
    {
        var tape = new Tape(recording: false);
        var embeddings = prompt.Prepend(tape, Fn.Embedding(tape, model.TokenEmbedding, input, 1, input.Length));
        var encoded = model.Encode(tape, new ForwardInput { Batch = 1, Length = prompt.Length + input.Length,
            Embeddings = embeddings });
        var decoderIds = model.ShiftRight(target, 1, target.Length);
        var logits = model.Logits(tape, model.Decode(tape, new ForwardInput { Batch = 1, Length = target.Length,
            TokenIds = decoderIds }, encoded, null)).ToArray();
        tape.Reset();
        int vocab = model.Config.VocabSize;
        double total = 0;
        for (int t = 0; t < target.Length; t++)
        {
            var row = logits.AsSpan(t * vocab, vocab);
            double max = row.ToArray().Max(), sum = 0;
            foreach (float v in row) sum += Math.Exp(v - max);
            total += row[target[t]] - max - Math.Log(sum);
        }
        return total;
    }

    [Fact]
    public void Prompt_tuning_changes_only_the_prompt_and_prefix_tuning_only_its_mlp()
    {
        var (model, tokenizer) = TinyT5();
        var batch = MoodTask.Examples();
        var prompt = new PromptEmbedding(4, model.Config.HiddenSize);
        prompt.InitializeUniform(5);
        var prompted = new T5Classifier(model, tokenizer, Mood, prompt);
        TrainingSteps.OneStepChangesExactly(model, [prompt.Prompt], tape => prompted.Loss(tape, batch));

        var adapter = new PrefixAdapter(model.AdapterConfig, new PrefixTuningOptions(3, Reparameterize: true));
        var prefixed = new T5Classifier(model, tokenizer, Mood, null) { Adapter = adapter };
        TrainingSteps.OneStepChangesExactly(model, adapter.Trainable, tape => prefixed.Loss(tape, batch));
    }

    [Fact]
    public void Greedy_generation_writes_each_tokens_argmax_and_stops_at_the_end_token()
    {
        var (model, _) = TinyT5(seed: 11);
        int[] input = [5, 9, 14, 3, 7];
        var written = SoftPrompt.Models.Generation.Seq2SeqGenerator.Greedy(model, input, maxNewTokens: 6,
            endOfSequence: null);
        Assert.Equal(6, written.Count);
        // One full decoder pass over [start; written] agrees with every step's choice.
        var tape = new Tape(recording: false);
        var encoded = model.Encode(tape, new ForwardInput { Batch = 1, Length = input.Length, TokenIds = input });
        int[] decoderIds = [model.DecoderStartId, .. written[..^1]];
        var logits = model.Logits(tape, model.Decode(tape, new ForwardInput { Batch = 1, Length = decoderIds.Length,
            TokenIds = decoderIds }, encoded, null)).ToArray();
        int vocab = model.Config.VocabSize;
        for (int t = 0; t < written.Count; t++)
            Assert.Equal(written[t], System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits.AsSpan(t * vocab,
                vocab)));
        tape.Reset();
        // Naming a token the end token stops generation where it would first be written.
        int end = written[^1], firstAt = written.IndexOf(end);
        Assert.Equal(written.Take(firstAt), SoftPrompt.Models.Generation.Seq2SeqGenerator.Greedy(model, input, 6,
            endOfSequence: end));
    }

    private sealed class NoHooks : ILayerHooks { }

    [Fact]
    public void Cached_decoding_gives_the_full_decoders_outputs_position_by_position()
    {
        var (model, _) = TinyT5(seed: 12);
        // two rows, the second's input padded at the end: the padding must stay hidden from cross-attention
        int[] inputs = [5, 9, 14, 3, 7, 8, 2, 6, 0, 0];
        bool[] padding = [false, false, false, false, false, false, false, false, true, true];
        int[][] rows = [[11, 4, 19, 3, 8, 1], [7, 7, 2, 15, 6, 9]];
        var tape = new Tape(recording: false);
        var encoded = model.Encode(tape, new ForwardInput { Batch = 2, Length = 5, TokenIds = inputs,
            Padding = padding });
        int length = rows[0].Length, d = model.Config.HiddenSize;
        var full = model.Decode(tape, new ForwardInput { Batch = 2, Length = length,
            TokenIds = [.. rows[0], .. rows[1]] }, encoded, padding).ToArray();
        var state = model.StartDecoding();
        for (int t = 0; t < length; t++)
        {
            var step = model.DecodeNext(tape, [rows[0][t], rows[1][t]], encoded, padding, state).ToArray();
            for (int r = 0; r < 2; r++)
                for (int j = 0; j < d; j++)
                    Assert.Equal(full[(r * length + t) * d + j], step[r * d + j], 4);
        }
        Assert.Equal(length, state.Length);

        // Greedy decoding through the cache writes what the recomputing path (taken whenever hooks are given) writes.
        var cached = SoftPrompt.Models.Generation.Seq2SeqGenerator.Greedy(model, tape, encoded, padding, null, 8,
            endOfSequence: 3);
        var recomputed = SoftPrompt.Models.Generation.Seq2SeqGenerator.Greedy(model, tape, encoded, padding,
            new NoHooks(), 8, endOfSequence: 3);
        Assert.Equal(recomputed.Select(r => string.Join(",", r)), cached.Select(r => string.Join(",", r)));
        tape.Reset();
    }

    [Fact]
    public void Prompt_tuning_lowers_the_label_loss()
    {
        var (model, tokenizer) = TinyT5();
        var prompt = new PromptEmbedding(4, model.Config.HiddenSize);
        prompt.InitializeUniform(5);
        var classifier = new T5Classifier(model, tokenizer, Mood, prompt);
        TrainingSteps.LossFalls(tape => classifier.Loss(tape, MoodTask.Examples()), [prompt.Prompt], steps: 10,
            learningRate: 5e-2f);
    }
}

/// <summary>`t5 generate --adapter`: the prompt is read before the input, as the classifier reads it.</summary>
public class T5GenerationTests
{
    [Fact]
    public void A_prompt_made_of_token_rows_decodes_as_those_tokens_written_before_the_input()
    {
        var (t5, tokenizer) = T5TuningTests.TinyT5(seed: 5);
        int[] promptTokens = tokenizer.Encode(" Tell me the mood:"), input = tokenizer.Encode(" Tom smiled.");
        var prompt = new PromptEmbedding(promptTokens.Length, t5.Config.HiddenSize);
        int d = t5.Config.HiddenSize;
        for (int i = 0; i < promptTokens.Length; i++)
            t5.TokenEmbedding.ReadOnlySpan.Slice(promptTokens[i] * d, d).CopyTo(prompt.Prompt.Span.Slice(i * d, d));
        var trained = new SoftPrompt.Tuning.LoadedAdapter("PROMPT_TUNING", prompt, null);

        var withAdapter = T5Generation.Greedy(t5, trained, input, maxNewTokens: 6, endOfSequence: null);
        var written = T5Generation.Greedy(t5, null, [.. promptTokens, .. input], maxNewTokens: 6, endOfSequence: null);
        Assert.Equal(6, withAdapter.Count);
        Assert.Equal(written, withAdapter);
    }
}
