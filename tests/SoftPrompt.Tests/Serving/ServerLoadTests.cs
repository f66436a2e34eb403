using SoftPrompt.Models.Formats;
using SoftPrompt.Serving;
using SoftPrompt.Tests.Models;
using Xunit;
using Xunit.Abstractions;

namespace SoftPrompt.Tests.Serving;

/// <summary>
/// 64 concurrent clients against the server over the shipped base-small with three adapters; every answer must equal
/// the same request's answer alone. Under a minute on two cores: `dotnet test --filter Category=Slow`
/// (`softprompt bench --cases serve` reports the same figures for more requests).
/// </summary>
[Trait("Category", "Slow")]
public class ServerLoadTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Sixty_four_concurrent_clients_get_no_failures_and_the_answers_of_their_requests_alone()
    {
        var loaded = ModelLoader.Load(ShippedModelTests.RepositoryPath("models/base-small"));
        var report = await ServerLoadTest.RunAsync(loaded.Model, loaded.Tokenizer!, requests: 256, clients: 64);
        output.WriteLine($"one by one: {report.OneByOne}");
        output.WriteLine($"concurrent: {report.Concurrent}");
        output.WriteLine($"largest batch {report.LargestBatch}, wrong {report.Wrong}");
        Assert.Equal(0, report.OneByOne.Failed);
        Assert.Equal(0, report.Concurrent.Failed);
        Assert.Equal(0, report.Wrong);
        Assert.True(report.LargestBatch > 1, "concurrent requests were never batched");
    }
}
