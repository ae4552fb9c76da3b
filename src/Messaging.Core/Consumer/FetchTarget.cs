using System.Runtime.InteropServices;

namespace Messaging.Consumer;

/// <summary>One partition in one Fetch: its cursor, and the cursor's state when the request was built.</summary>
[StructLayout(LayoutKind.Auto)]
internal readonly record struct FetchTarget(PartitionCursor Cursor, CursorGeneration Generation, long FetchOffset, int LeaderEpoch, Guid TopicId, int LastFetchedEpoch = -1);
