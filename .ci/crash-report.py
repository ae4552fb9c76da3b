#!/usr/bin/env python3
"""Prints the stacks from .NET crash reports (createdump's *.crashreport.json): the crashed thread in full and,
for every other thread, its test-code frames, so a test host that dies on a signal says where and during which tests."""
import json
import sys


def frame_text(frame):
    name = frame.get("method_name") or frame.get("unmanaged_name") or ""
    module = frame.get("native_module") or frame.get("filename") or frame.get("module_name") or "?"
    address = frame.get("native_image_offset") or frame.get("native_address") or ""
    return f"{module}!{name}" if name else f"{module}+{address}"


for path in sys.argv[1:]:
    try:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        print(f"crash report {path}: unreadable ({e})")
        continue
    payload = report.get("payload", report)
    print(f"=== crash report {path}: process {payload.get('process_name', '?')}")
    threads = payload.get("threads", [])
    for thread in threads:
        frames = thread.get("stack_frames", [])
        crashed = str(thread.get("crashed", "")).lower() == "true"
        if crashed:
            print(f"--- crashed thread {thread.get('native_thread_id', '?')} (managed exception: {thread.get('managed_exception_type') or 'none'})")
            for frame in frames[:80]:
                print("    " + frame_text(frame))
    print("--- test frames on the other threads (what was running)")
    for thread in threads:
        names = [frame_text(f) for f in thread.get("stack_frames", []) if "Tests" in (f.get("method_name") or "")]
        if names:
            print(f"  thread {thread.get('native_thread_id', '?')}: " + " <- ".join(names[:4]))
