using RnnLmService.Core.Tests.Engine;
using RnnLmService.Core.Text;
using RnnLmService.Core.Text.Prepared;

namespace RnnLmService.Core.Tests.Prepared;

/// <summary>Streaming preparation against the in-memory path (<see cref="Corpus.Build"/>), on the same text read the other way.</summary>
public sealed class TokenFilesTests
{
    public static TheoryData<TokenizerKind, bool, bool, int, int> Settings => new()
    {
        { TokenizerKind.Word, true, true, 10000, 1 },
        { TokenizerKind.Word, false, false, 10000, 1 },
        { TokenizerKind.Word, true, true, 8, 1 },         // a cut inside the ranking: rarer tokens become <unk>
        { TokenizerKind.Word, true, true, 10000, 2 },     // minCount
        { TokenizerKind.Character, false, false, 10000, 1 },
        { TokenizerKind.Character, false, false, 5, 2 },
        { TokenizerKind.Bpe, false, false, 300, 1 },      // vocabularySize 300: merges learnt from the train split
        { TokenizerKind.Bpe, false, false, 258, 1 },      // bytes only: no merge
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void Prepared_files_give_the_in_memory_vocabulary_and_ids(TokenizerKind kind, bool lowercase, bool split, int maxSize, int minCount)
    {
        var options = kind == TokenizerKind.Bpe
            ? new TokenizerOptions { Kind = kind, VocabularySize = maxSize }
            : new TokenizerOptions { Kind = kind, Lowercase = lowercase, SplitPunctuation = split, MaxVocabularySize = maxSize, MinCount = minCount };
        var splits = PreparedCorpora.Awkward();
        using var dir = new TempDir();
        PreparedCorpora.Write(dir.Path, splits);

        var ready = new TokenFilePreparer().Prepare(dir.Path, options);
        using var prepared = TokenFiles.Open(ready, options);
        var expected = Corpus.Build(new CorpusSplits(
            CorpusReader.ReadUtf8(Path.Combine(dir.Path, "train.txt"), "train"),
            CorpusReader.ReadUtf8(Path.Combine(dir.Path, "valid.txt"), "valid"),
            CorpusReader.ReadUtf8(Path.Combine(dir.Path, "test.txt"), "test")), options);

        Assert.Equal(expected.Vocabulary.Tokens, prepared.Vocabulary.Tokens);
        Assert.Equal(expected.Vocabulary.Counts, prepared.Vocabulary.Counts);
        Assert.Equal(expected.Train, PreparedCorpora.ReadAll(prepared.Train));
        Assert.Equal(expected.Valid, PreparedCorpora.ReadAll(prepared.Valid));
        Assert.Equal(expected.Test, PreparedCorpora.ReadAll(prepared.Test));
        if (kind == TokenizerKind.Bpe)
        {
            var learnt = Assert.IsType<BpeTokenizer>(prepared.Tokenizer).Merges.Merges;
            Assert.Equal(((BpeTokenizer)expected.Tokenizer).Merges.Merges, learnt);
            Assert.Equal(maxSize > 258, learnt.Count > 0);
            Assert.DoesNotContain(0L, expected.Valid);                            // byte-level: nothing unknown
        }
        else Assert.Contains(0L, expected.Valid);                                  // the comparison covers <unk>
        for (var streams = 1; streams <= 4; streams++)                             // bits per character and per word: the same denominators
            Assert.Equal(expected.TestMeasures.Scored(streams), prepared.TestMeasures.Scored(streams));
    }

    [Fact]
    public void Bpe_files_are_keyed_by_the_vocabulary_size_and_record_the_test_texts_characters()
    {
        using var dir = new TempDir();
        var splits = PreparedCorpora.Awkward();
        PreparedCorpora.Write(dir.Path, splits);
        var small = new TokenizerOptions { Kind = TokenizerKind.Bpe, VocabularySize = 270 };
        var large = small with { VocabularySize = 320 };

        var a = new TokenFilePreparer().Prepare(dir.Path, small);
        var b = new TokenFilePreparer().Prepare(dir.Path, large);
        Assert.NotEqual(a, b);
        using var prepared = TokenFiles.Open(b, large);
        Assert.True(prepared.Vocabulary.Count > 270, $"{prepared.Vocabulary.Count} tokens");
        var index = TokenFiles.ReadIndex(b)!;
        var tokenizer = (BpeTokenizer)prepared.Tokenizer;
        var test = CorpusReader.ReadUtf8(Path.Combine(dir.Path, "test.txt"), "test");
        Assert.Equal(tokenizer.Detokenize(tokenizer.Tokenize(test)).EnumerateRunes().Count(), index.TestCharacters);
        Assert.Equal(test.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries).Length, index.TestWords);
        Assert.Equal(2, TokenFiles.Statuses(dir.Path).Count(p => p.Status == PreparationStatus.Ready));
    }

    [Fact]
    public void One_preparation_serves_every_vocabulary_size_and_min_count()
    {
        using var dir = new TempDir();
        PreparedCorpora.Write(dir.Path, PreparedCorpora.Zipf());
        var first = new TokenFilePreparer().Prepare(dir.Path, new TokenizerOptions { MaxVocabularySize = 50 });
        var second = new TokenFilePreparer(new PreparationSettings { AfterPhase = p => Assert.Fail($"prepared again: {p}") })
            .Prepare(dir.Path, new TokenizerOptions { MaxVocabularySize = 20, MinCount = 3 });
        Assert.Equal(first, second);
        using var small = TokenFiles.Open(second, new TokenizerOptions { MaxVocabularySize = 20, MinCount = 3 });
        Assert.Equal(20, small.Vocabulary.Count);
        Assert.All(PreparedCorpora.ReadAll(small.Train), id => Assert.InRange(id, 0, 19));

        var other = new TokenFilePreparer().Prepare(dir.Path, new TokenizerOptions { Lowercase = false });
        Assert.NotEqual(first, other);                                             // settings that change the tokens get their own files
    }

    [Fact]
    public void A_vocabulary_larger_than_the_counting_budget_still_ranks_exactly()
    {
        var splits = PreparedCorpora.Zipf(lines: 600);
        var options = new TokenizerOptions { MaxVocabularySize = 40 };
        using var dir = new TempDir();
        PreparedCorpora.Write(dir.Path, splits);

        var ready = new TokenFilePreparer(new PreparationSettings { CountingBudget = 5 }).Prepare(dir.Path, options);
        var index = TokenFiles.ReadIndex(ready)!;
        using var prepared = TokenFiles.Open(ready, options);
        var expected = Corpus.Build(splits, options);

        Assert.True(index.DistinctTokens > 100, $"{index.DistinctTokens} distinct tokens");
        Assert.True(index.CountingRuns >= index.DistinctTokens / 5, $"{index.CountingRuns} runs");   // it really spilled
        Assert.False(Directory.Exists(Path.Combine(ready, "runs")));                                // and cleaned up
        Assert.Equal(expected.Vocabulary.Tokens, prepared.Vocabulary.Tokens);
        Assert.Equal(expected.Vocabulary.Counts, prepared.Vocabulary.Counts);
        Assert.Equal(expected.Train, PreparedCorpora.ReadAll(prepared.Train));
        Assert.Equal(index.DistinctTokens + 2, index.RankedTokens);
    }

    [Fact]
    public void Memory_mapped_batches_equal_the_in_memory_batches()
    {
        var splits = PreparedCorpora.Zipf(lines: 200);
        var options = new TokenizerOptions { MaxVocabularySize = 30 };
        using var dir = new TempDir();
        PreparedCorpora.Write(dir.Path, splits);
        using var prepared = TokenFiles.Open(new TokenFilePreparer().Prepare(dir.Path, options), options);
        var memory = Corpus.Build(splits, options);

        using var source = Batching.Batchify(memory.Train, 7);                      // (T, B)
        var mapped = new TokenStreams(prepared.Train, 7);
        Assert.Equal(source.shape[0], mapped.Steps);
        var windows = 0;
        for (var i = 0; i < mapped.Steps - 1; i += 9)
        {
            using var scope = TorchSharp.torch.NewDisposeScope();
            var (input, target) = Batching.GetBatch(source, i, 9);
            var (mInput, mTarget) = mapped.GetBatch(i, 9);
            Assert.Equal(input.shape, mInput.shape);
            Assert.Equal(input.data<long>().ToArray(), mInput.data<long>().ToArray());
            Assert.Equal(target.data<long>().ToArray(), mTarget.data<long>().ToArray());
            windows++;
        }
        Assert.Equal(Batching.BatchCount(source.shape[0], 9), windows);
    }

    [Fact]
    public void A_preparation_killed_part_way_resumes_after_its_last_finished_pass_and_never_uses_half_written_files()
    {
        var splits = PreparedCorpora.Zipf(lines: 300);
        var options = new TokenizerOptions { MaxVocabularySize = 25 };
        using var dir = new TempDir();
        using var clean = new TempDir();
        PreparedCorpora.Write(dir.Path, splits);
        PreparedCorpora.Write(clean.Path, splits);

        // The "kill": the attempt stops right after encoding train, as if its process died there.
        var killed = new TokenFilePreparer(new PreparationSettings
        {
            AfterPhase = p => { if (p == "encoding train") throw new OperationCanceledException(); },
        });
        Assert.ThrowsAny<OperationCanceledException>(() => killed.Prepare(dir.Path, options));
        var key = TokenFileKey.Of(options);
        var ready = TokenFiles.ReadyDirectory(dir.Path, key);
        Assert.False(Directory.Exists(ready));
        Assert.Equal(PreparationStatus.Interrupted, Assert.Single(TokenFiles.Statuses(dir.Path)).Status);
        // A half-written file of the next pass, and one that looks finished but is garbage under the temporary name.
        File.WriteAllBytes(Path.Combine(ready + ".partial", "valid.ids.tmp"), [1, 2, 3]);

        var phases = new List<string>();
        var resumed = new TokenFilePreparer(new PreparationSettings { AfterPhase = phases.Add }).Prepare(dir.Path, options);
        Assert.Equal(["encoding valid", "encoding test"], phases);                // counting and train were not redone
        Assert.False(Directory.Exists(ready + ".partial"));
        Assert.Empty(Directory.EnumerateFiles(ready, "*.tmp"));

        using var a = TokenFiles.Open(resumed, options);
        using var b = TokenFiles.Open(new TokenFilePreparer().Prepare(clean.Path, options), options);
        Assert.Equal(b.Vocabulary.Tokens, a.Vocabulary.Tokens);
        Assert.Equal(PreparedCorpora.ReadAll(b.Train), PreparedCorpora.ReadAll(a.Train));
        Assert.Equal(PreparedCorpora.ReadAll(b.Valid), PreparedCorpora.ReadAll(a.Valid));
        Assert.Equal(PreparedCorpora.ReadAll(b.Test), PreparedCorpora.ReadAll(a.Test));
        var status = Assert.Single(TokenFiles.Statuses(dir.Path));
        Assert.Equal(PreparationStatus.Ready, status.Status);
        Assert.Equal(a.Train.Count, status.Index!.TrainTokens);
    }

    [Fact]
    public void A_failed_preparation_says_why_without_server_paths()
    {
        using var dir = new TempDir();
        PreparedCorpora.Write(dir.Path, PreparedCorpora.Zipf(lines: 50));
        File.WriteAllBytes(Path.Combine(dir.Path, "train.txt"), [(byte)'a', 0xFF, (byte)'\n']);

        var e = Assert.Throws<CorpusException>(() => new TokenFilePreparer().Prepare(dir.Path, new TokenizerOptions()));
        Assert.Equal("train", e.Field);
        var status = Assert.Single(TokenFiles.Statuses(dir.Path));
        Assert.Equal(PreparationStatus.Failed, status.Status);
        Assert.Contains("UTF-8", status.Reason);
        Assert.DoesNotContain(dir.Path, status.Reason);
    }

    [Fact]
    public void The_key_ignores_vocabulary_limits_and_settings_that_do_not_apply()
    {
        Assert.Equal(TokenFileKey.Of(new TokenizerOptions()), TokenFileKey.Of(new TokenizerOptions { MaxVocabularySize = 5, MinCount = 9 }));
        Assert.Equal(TokenFileKey.Of(new TokenizerOptions { Kind = TokenizerKind.Character, Lowercase = true }),
            TokenFileKey.Of(new TokenizerOptions { Kind = TokenizerKind.Character, Lowercase = false }));
        Assert.NotEqual(TokenFileKey.Of(new TokenizerOptions()).DirectoryName, TokenFileKey.Of(new TokenizerOptions { SplitPunctuation = false }).DirectoryName);
        Assert.Equal(TokenFileKey.Of(new TokenizerOptions { Kind = TokenizerKind.Bpe, VocabularySize = 400, Lowercase = true }),
            TokenFileKey.Of(new TokenizerOptions { Kind = TokenizerKind.Bpe, MaxVocabularySize = 400, Lowercase = false, MinCount = 3 }));
        Assert.NotEqual(TokenFileKey.Of(new TokenizerOptions { Kind = TokenizerKind.Bpe, VocabularySize = 400 }),
            TokenFileKey.Of(new TokenizerOptions { Kind = TokenizerKind.Bpe, VocabularySize = 401 }));
    }
}
