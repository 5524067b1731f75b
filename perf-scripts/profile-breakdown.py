#!/usr/bin/env python3
"""profile-breakdown.py DIR - share of FastMta's CPU samples per stage, from DIR/stacks.txt.

stacks.txt is `perf script -F comm,tid,ip,sym,dso` of a perf.data recorded with -g (profile-relay.sh writes both).
Each sample goes to the stage of its leaf-most recognised frame (kernel time included: a pwrite under FasterLog
counts as spool). Then the spool's share is split further, and samples with no managed frame are grouped by syscall.
Shares of samples, not absolute times; the profile-relay.sh RESULT line gives CPU ms per message.
"""
import collections
import re
import sys

d = sys.argv[1]
blocks = open(d + '/stacks.txt').read().split('\n\n')


def name(frame):
    return re.sub(r'^\s*[0-9a-f]+ ', '', frame).split(' (')[0]


def has(frames, *keys):
    return any(k in f for f in frames for k in keys)


stage, spool, unattributed = collections.Counter(), collections.Counter(), collections.Counter()
total = 0
for block in blocks:
    lines = [l for l in block.strip().split('\n') if l.strip()]
    if not lines:
        continue
    total += 1
    thread, frames = lines[0], lines[1:]
    syscalls = [name(f) for f in frames if '__x64_sys_' in f]
    if 'Tiered Com' in thread:
        stage['JIT (tiered compilation thread)'] += 1
        continue
    if '.NET Server GC' in thread or '.NET BGC' in thread:
        stage['GC threads'] += 1
        continue
    found = None
    for f in frames:
        if 'FASTER.core' in f or 'FastMta.Spool' in f or 'RandomAccess::WriteAtOffset' in f:
            if has(frames, 'ReadBodyAsync', 'ReadEntryAsync'):
                found = 'spool read (body for delivery)'
            elif has(frames, 'AppendStatesAsync'):
                found = 'state log (delivery outcomes)'
            else:
                found = 'spool append + commit'
                if has(frames, 'SerialCommitCallbackWorker', 'DeviceLogCommitCheckpointManager', 'LocalStorageNamedDeviceFactory'):
                    spool['FasterLog commit metadata (per-commit file create/write/delete, waits)'] += 1
                elif has(frames, 'WriteAtOffset'):
                    spool['log page writes (pwrite, O_SYNC)'] += 1
                elif has(frames, 'GroupCommitter'):
                    spool['GroupCommitter'] += 1
                elif has(frames, 'MessageWriter'):
                    spool['MessageWriter (append to FasterLog)'] += 1
                else:
                    spool['other FASTER'] += 1
            break
        if 'FastMta.Queue' in f:
            found = 'queue (scheduling, delivery log, events)'
            break
        if 'FastMta.Outbound' in f or 'StreamPipeReader' in f or 'StreamPipeWriter' in f or 'NetworkStream' in f:
            found = 'outbound SMTP client (incl. its socket calls)'
            break
        if 'FastMta.Inbound' in f or 'FastMta.Smtp' in f or 'Kestrel' in f:
            found = 'inbound SMTP session (incl. Kestrel socket calls)'
            break
        if 'OpenTelemetry' in f:
            found = 'metrics'
            break
        if 'LowLevelLifoSemaphore' in f:
            found = 'thread pool: idle workers spinning/waiting'
            break
        if 'SocketAsyncEngine' in f or 'epoll_wait' in f:
            found = 'socket event loop (epoll)'
            break
    if found is None:
        found = 'no managed frame (kernel/native; by syscall below)'
        unattributed[syscalls[0] if syscalls else (name(frames[0]) if frames else '?')] += 1
    stage[found] += 1

print(f'{total} samples')
for k, v in stage.most_common():
    print(f'{100 * v / total:5.1f}%  {k}')
print('spool append + commit, split:')
for k, v in spool.most_common():
    print(f'{100 * v / total:5.1f}%    {k}')
print('no managed frame, by syscall:')
for k, v in unattributed.most_common(6):
    print(f'{100 * v / total:5.1f}%    {k}')
