namespace RnnLmService.Api.Contracts;

/// <summary>Asks why the model predicts a word after a context.</summary>
public sealed class ExplainRequest
{
    /// <summary>The text before the predicted word. Required; at most 200 tokens and <c>RnnLm:Serving:MaxPromptCharacters</c> characters.</summary>
    /// <example>the old farmer</example>
    public string? Context { get; init; }

    /// <summary>The word to explain (one token in the vocabulary); omit to explain the model's top prediction.</summary>
    /// <example>ran</example>
    public string? Target { get; init; }
}

/// <summary>Each context token's contribution to the target's log-probability, by two methods.</summary>
public sealed class ExplainResponse
{
    /// <summary>The model version that answered, as <c>name@version</c>.</summary>
    /// <example>starter@1</example>
    public required string Model { get; init; }

    /// <summary>The explained word.</summary>
    /// <example>ran</example>
    public required string Target { get; init; }

    /// <summary>True when no target was given and the top prediction is explained.</summary>
    /// <example>true</example>
    public bool TargetWasPredicted { get; init; }

    /// <summary>Probability of the target after the whole context.</summary>
    /// <example>0.12</example>
    public double TargetProbability { get; init; }

    /// <summary>Natural log of that probability.</summary>
    /// <example>-2.12</example>
    public double TargetLogProbability { get; init; }

    /// <summary>The methods behind the two numbers of each token, by name.</summary>
    public required IReadOnlyList<AttributionMethod> Methods { get; init; }

    /// <summary>The context tokens in order, each with one contribution per method (in nats of log-probability).</summary>
    public required IReadOnlyList<TokenAttribution> Tokens { get; init; }
}

/// <summary>How a contribution was measured.</summary>
public sealed class AttributionMethod
{
    /// <summary><c>occlusion</c> or <c>gradientTimesInput</c> (also the field name on each token).</summary>
    /// <example>occlusion</example>
    public required string Name { get; init; }

    /// <summary>What the number means.</summary>
    /// <example>log p(target | context) minus log p(target | context with the token replaced by &lt;unk&gt;)</example>
    public required string Description { get; init; }
}

/// <summary>One context token and its contributions.</summary>
public sealed class TokenAttribution
{
    /// <summary>The token.</summary>
    /// <example>farmer</example>
    public required string Token { get; init; }

    /// <summary>False when the vocabulary does not know it (it was read as &lt;unk&gt;; its occlusion is then 0).</summary>
    /// <example>true</example>
    public bool InVocabulary { get; init; }

    /// <summary>log p(target | context) minus log p(target | context with this token replaced by &lt;unk&gt;); positive: the token made the target likelier.</summary>
    /// <example>1.3</example>
    public double Occlusion { get; init; }

    /// <summary>The gradient of log p(target) with respect to this token's input embedding, dotted with the embedding.</summary>
    /// <example>0.9</example>
    public double GradientTimesInput { get; init; }
}

/// <summary>Asks for the recurrent units' activity over a text.</summary>
public sealed class ActivationsRequest
{
    /// <summary>The text to run. Required; at most 1000 tokens and <c>RnnLm:Serving:MaxPromptCharacters</c> characters.</summary>
    /// <example>the old farmer ran to the house .</example>
    public string? Text { get; init; }

    /// <summary>0-based layer whose units are reported; omit for the last layer.</summary>
    /// <example>0</example>
    public int? Layer { get; init; }

    /// <summary>Unit numbers (0 to hiddenSize - 1, at most 64) to report; omit for the layer's 8 most varying units (at most <c>top</c>).</summary>
    /// <example>[0, 5, 17]</example>
    public IReadOnlyList<int>? Units { get; init; }

    /// <summary>How many of the layer's most varying units to list, 1 to 64.</summary>
    /// <example>10</example>
    public int Top { get; init; } = 10;
}

/// <summary>What the recurrent layers did over a text.</summary>
public sealed class ActivationsResponse
{
    /// <summary>The model version that answered, as <c>name@version</c>.</summary>
    /// <example>starter@1</example>
    public required string Model { get; init; }

    /// <summary><c>lstm</c>, <c>gru</c> or <c>rnnTanh</c>.</summary>
    /// <example>lstm</example>
    public required string CellType { get; init; }

    /// <summary>Recurrent layers in the model.</summary>
    /// <example>2</example>
    public int Layers { get; init; }

    /// <summary>Units per layer.</summary>
    /// <example>200</example>
    public int HiddenSize { get; init; }

    /// <summary>The layer the unit values come from.</summary>
    /// <example>1</example>
    public int Layer { get; init; }

    /// <summary>The text's tokens; each value below is the state after reading the token at the same index.</summary>
    /// <example>["the", "old", "farmer"]</example>
    public required IReadOnlyList<string> Tokens { get; init; }

    /// <summary>The chosen units' values per token.</summary>
    public required IReadOnlyList<UnitActivations> Units { get; init; }

    /// <summary>Per layer, the mean activation of each gate over the text and all units (LSTM: input, forget, output; GRU: reset, update; tanh RNN: none).</summary>
    public required IReadOnlyList<LayerGates> Gates { get; init; }

    /// <summary>The layer's units whose hidden value varies most over the text (standard deviation), most varying first.</summary>
    public required IReadOnlyList<UnitVariationInfo> MostVarying { get; init; }
}

/// <summary>One unit over the text.</summary>
public sealed class UnitActivations
{
    /// <summary>Unit number in the layer.</summary>
    /// <example>17</example>
    public int Unit { get; init; }

    /// <summary>Hidden value (output) after each token.</summary>
    /// <example>[0.12, -0.4, 0.33]</example>
    public required IReadOnlyList<double> Hidden { get; init; }

    /// <summary>LSTM cell value after each token; null for GRU and tanh RNN.</summary>
    /// <example>[0.2, -0.9, 0.51]</example>
    public IReadOnlyList<double>? Cell { get; init; }
}

/// <summary>Mean gate activations of one layer.</summary>
public sealed class LayerGates
{
    /// <summary>0-based layer.</summary>
    /// <example>0</example>
    public int Layer { get; init; }

    /// <summary>Gate name → mean activation in [0, 1].</summary>
    /// <example>{"input": 0.48, "forget": 0.42, "output": 0.45}</example>
    public required IReadOnlyDictionary<string, double> Means { get; init; }
}

/// <summary>How much a unit varies over the text.</summary>
public sealed class UnitVariationInfo
{
    /// <summary>Unit number in the layer.</summary>
    /// <example>17</example>
    public int Unit { get; init; }

    /// <summary>Standard deviation of its hidden value over the tokens.</summary>
    /// <example>0.41</example>
    public double StandardDeviation { get; init; }

    /// <summary>Mean of its hidden value over the tokens.</summary>
    /// <example>-0.05</example>
    public double Mean { get; init; }
}

/// <summary>Words whose input embeddings are closest to a word's.</summary>
public sealed class NeighboursResponse
{
    /// <summary>The model version that answered, as <c>name@version</c>.</summary>
    /// <example>starter@1</example>
    public required string Model { get; init; }

    /// <summary>The word asked about.</summary>
    /// <example>farmer</example>
    public required string Word { get; init; }

    /// <summary>The k nearest words by cosine similarity, nearest first (the word itself excluded).</summary>
    public required IReadOnlyList<Neighbour> Neighbours { get; init; }
}

/// <summary>A nearby word.</summary>
public sealed class Neighbour
{
    /// <summary>The word.</summary>
    /// <example>shepherd</example>
    public required string Word { get; init; }

    /// <summary>Its id in the vocabulary.</summary>
    /// <example>42</example>
    public int Id { get; init; }

    /// <summary>Cosine similarity of the two input embeddings, -1 to 1.</summary>
    /// <example>0.83</example>
    public double Cosine { get; init; }
}

/// <summary>A page of the model's vocabulary, in id order.</summary>
public sealed class VocabularyResponse
{
    /// <summary>The model version that answered, as <c>name@version</c>.</summary>
    /// <example>starter@1</example>
    public required string Model { get; init; }

    /// <summary>Tokens in the vocabulary, specials included.</summary>
    /// <example>412</example>
    public int Total { get; init; }

    /// <summary>The first id on this page.</summary>
    /// <example>0</example>
    public int Offset { get; init; }

    /// <summary>The page size asked for.</summary>
    /// <example>100</example>
    public int Limit { get; init; }

    /// <summary>
    /// Whether the model directory holds the training counts (<c>vocab.counts.json</c>, written since counts are kept);
    /// without them <c>count</c> is null and <c>frequencyRank</c> (ids 2 and up are in order of training frequency) is what is known.
    /// </summary>
    /// <example>true</example>
    public bool CountsStored { get; init; }

    /// <summary>The tokens with ids in [offset, offset + limit).</summary>
    public required IReadOnlyList<VocabularyEntry> Items { get; init; }
}

/// <summary>One vocabulary entry.</summary>
public sealed class VocabularyEntry
{
    /// <summary>The token's id (the model's input and output index).</summary>
    /// <example>2</example>
    public int Id { get; init; }

    /// <summary>The token.</summary>
    /// <example>the</example>
    public required string Token { get; init; }

    /// <summary>1 for the training text's most frequent token, 2 for the next, ...; null for &lt;unk&gt; and &lt;eos&gt;.</summary>
    /// <example>1</example>
    public int? FrequencyRank { get; init; }

    /// <summary>How often the token occurred in the training text; null for the specials and for models saved without counts.</summary>
    /// <example>5231</example>
    public long? Count { get; init; }

    /// <summary>True for &lt;unk&gt; and &lt;eos&gt;.</summary>
    /// <example>false</example>
    public bool Special { get; init; }
}
