using System.Diagnostics;
using System.Text;

namespace Messaging.IntegrationTests.Support;

/// <summary>Runs <c>dotnet</c> (or a built executable) as a child process for the packaging tests, bounded in time.</summary>
internal static class DotnetProcess
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(8);

    /// <summary>Runs and returns stdout + stderr; fails the test with the output when the exit code is not 0.</summary>
    public static async Task<string> RunAsync(string workingDirectory, string[] arguments, CancellationToken ct, string fileName = "dotnet")
    {
        var start = new ProcessStartInfo(fileName) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The test host's MSBuild variables would leak into the child builds.
        foreach (var name in new[] { "MSBuildExtensionsPath", "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "DOTNET_HOST_PATH" })
        {
            start.Environment.Remove(name);
        }

        var command = fileName + " " + string.Join(' ', arguments);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(StepTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{command} did not finish within {StepTimeout}");
        }

        var output = new StringBuilder().Append(await stdout).Append(await stderr).ToString();
        Assert.True(process.ExitCode == 0, $"{command} exited with {process.ExitCode}:{Environment.NewLine}{output}");
        return output;
    }
}
