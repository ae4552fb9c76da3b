using System.Diagnostics;

namespace Messaging.Perf;

/// <summary>
/// Times a consumer run in steady state: created right before <c>Assign</c> (or <c>Subscribe</c>), it measures the
/// start-up (assign → first record: connections, metadata, offsets, first fetch; through a subscription also joining
/// the group) and starts the run's <see cref="Measurement"/> when
/// the first record arrives; the records and bytes that came with it are left out of the result.
/// </summary>
internal sealed class SteadyStateClock
{
    private readonly Stopwatch _startup = Stopwatch.StartNew();
    private Measurement? _measurement;
    private TimeSpan _brokerCpuStart;
    private long _recordsBefore;
    private long _bytesBefore;
    private double _startupMs;

    /// <summary>Call after every record or batch with the totals so far; the first call starts the clock.</summary>
    public void StartOnFirst(long records, long bytes)
    {
        if (_measurement is not null)
        {
            return;
        }

        _startupMs = _startup.Elapsed.TotalMilliseconds;
        _recordsBefore = records;
        _bytesBefore = bytes;
        _brokerCpuStart = Measurement.ThreadCpu("rdk:mock");
        _measurement = Measurement.Start();
    }

    /// <summary>Stops the clock with the run's totals.</summary>
    public ConsumeResult Stop(long records, long bytes)
    {
        var measurement = (_measurement ?? throw new InvalidOperationException("No record arrived.")).Stop();
        var brokerCpu = Measurement.ThreadCpu("rdk:mock") - _brokerCpuStart;
        if (records == _recordsBefore)
        {
            throw new InvalidOperationException("Every record arrived with the first fetch, so there is no steady state to measure: use more --messages or --passes.");
        }

        return ConsumeResult.From(records - _recordsBefore, bytes - _bytesBefore, measurement, brokerCpu, _startupMs);
    }
}
