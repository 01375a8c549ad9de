"""The Lua scripts behind :class:`~qlara_async.redis.RedisLimiter`.

Every decision runs inside one script, so it is atomic across processes and costs one round
trip. Time is Redis's own (``TIME``), in integer microseconds: every host reads the same clock,
and a microsecond count since 1970 (about 1.8e15) is an exact Lua number (below 2**53).

The keys all share one hash tag, ``qlara:{<key>}:...``, so they live in one cluster slot:

``meta``      hash: ``epoch`` (random, made when the state is created), ``cfg`` (the windows),
              ``level`` / ``level_at`` (the conservative bucket), ``paused`` (cooldown end),
              ``ncomp`` (completions so far), ``seq`` (queue tickets).
``comps``     zset: one member per completion, scored by its completion time.
``inflight``  hash: worker id -> requests it holds.
``workers``   zset: worker id -> lease end; a worker whose lease ran out is reaped (its
              requests become completions, dated ``grace`` late, as lost requests are).
``queue``     zset: worker id -> ticket; the worker at the front goes first.
``qdead``     hash: worker id -> the time by which it promised to ask again.
``lost``      zset: completions of lost requests, scored until they stop counting as "may
              still land".
``seen``      string, kept 30 days: the key was used (tells an idle expiry from a loss).

Floats are stored with ``%.17g`` (round-trips a double exactly).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final, NamedTuple

__all__ = ["REPORT", "RESERVE", "RuleArgs", "rule_args", "script_keys"]

_US: Final = 1_000_000


def script_keys(key: str) -> list[str]:
    """The Redis keys of budget ``key``, in the scripts' ``KEYS`` order (one hash tag)."""
    tag = f"qlara:{{{key}}}:"
    return [
        tag + k for k in ("meta", "comps", "inflight", "workers", "queue", "qdead", "lost", "seen")
    ]


class RuleArgs(NamedTuple):
    """``ARGV[5..8]`` of both scripts: the windows as every worker on a key must send them."""

    cfg: str
    """``"n:span_us,..."``: each window's limit and its span, margin included."""
    grace_us: int
    ttl_ms: int
    lease_us: int


def rule_args(
    windows: Sequence[tuple[int, float]], margins: Sequence[float], lease: float
) -> RuleArgs:
    """The windows ``(limit, seconds)``, each widened by its margin, encoded for the scripts."""
    spans = [math.ceil((p + m) * _US) for (_, p), m in zip(windows, margins, strict=True)]
    return RuleArgs(
        cfg=",".join(f"{n}:{span}" for (n, _), span in zip(windows, spans, strict=True)),
        grace_us=math.ceil(max(margins) * _US),
        ttl_ms=math.ceil((2 * max(spans) / _US + lease) * 1000),
        lease_us=math.ceil(lease * _US),
    )


# KEYS: meta, comps, inflight, workers, queue, qdead, lost, seen
# Shared prelude. ARGV[1..8] are common to both scripts:
#   1 worker, 2 new_epoch, 3 known_epoch, 4 local_inflight (to restore after a state loss),
#   5 cfg ("n:span_us,..."), 6 grace_us, 7 ttl_ms, 8 lease_us
_PRELUDE: Final = r"""
local meta, comps, inflight, workers, queue, qdead, lost =
    KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local worker, new_epoch, known_epoch = ARGV[1], ARGV[2], ARGV[3]
local local_inflight, cfg = tonumber(ARGV[4]), ARGV[5]
local grace, ttl, lease_us = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

local limits, spans = {}, {}
local capacity, rate, maxspan = math.huge, math.huge, 0
for n, span in string.gmatch(cfg, '(%d+):(%d+)') do
    n, span = tonumber(n), tonumber(span)
    limits[#limits + 1] = n
    spans[#spans + 1] = span
    if n < capacity then capacity = n end
    if n / span < rate then rate = n / span end
    if span > maxspan then maxspan = span end
end

local function fmt(x) return string.format('%.17g', x) end

local st = redis.call('HMGET', meta, 'epoch', 'cfg', 'level', 'level_at', 'paused', 'ncomp')
local epoch = st[1]
local restarted = false
if not epoch then
    -- No state: the first use of this key, a key idle past its TTL, or Redis lost it (restart
    -- without persistence, failover). A worker that knew an earlier epoch proves the last: the
    -- server may still hold a full window of arrivals nobody remembers, so sit one out.
    --
    -- A worker that knows no epoch cannot tell a loss from the key's first use; with
    -- cold_start="cooldown" it sends '?' and cools down unless ``seen`` (KEYS[8], kept 30 days,
    -- outliving the state's TTL) shows that the state only expired while the key was idle.
    epoch = new_epoch
    local paused = 0
    local unknown = known_epoch == '?' and redis.call('EXISTS', KEYS[8]) == 0
    if unknown or (known_epoch ~= '' and known_epoch ~= '?' and known_epoch ~= new_epoch) then
        paused = now + maxspan
        restarted = true
    end
    redis.call('HSET', meta, 'epoch', epoch, 'cfg', cfg, 'level', '0', 'level_at', now,
        'paused', paused, 'ncomp', 0, 'seq', 0)
    if local_inflight > 0 then
        redis.call('HSET', inflight, worker, local_inflight)
    end
    redis.call('ZADD', workers, now + lease_us, worker)
    st = {epoch, cfg, '0', tostring(now), tostring(paused), '0'}
elseif st[2] ~= cfg then
    return {'cfg', st[2]}
end
local level, level_at = tonumber(st[3]), tonumber(st[4])
local paused, ncomp = tonumber(st[5]), tonumber(st[6])

local function drain()
    if now > level_at then
        level = math.max(0, level - rate * (now - level_at))
        level_at = now
    end
end

local function complete(at, is_lost)
    ncomp = ncomp + 1
    local id = epoch .. ':' .. ncomp
    redis.call('ZADD', comps, at, id)
    if is_lost then redis.call('ZADD', lost, at, id) end
    drain()
    level = level + 1
    if is_lost then level = level + rate * grace end
end

-- Reap workers whose lease ran out (killed, or cut off for longer than the lease).
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', workers, '-inf', now)) do
    local held = tonumber(redis.call('HGET', inflight, dead) or '0')
    for _ = 1, held do complete(now + grace, true) end
    redis.call('HDEL', inflight, dead)
    redis.call('HDEL', qdead, dead)
    redis.call('ZREM', workers, dead)
    redis.call('ZREM', queue, dead)
end
redis.call('ZREMRANGEBYSCORE', comps, '-inf', now - maxspan)
redis.call('ZREMRANGEBYSCORE', lost, '-inf', now)

local function in_flight()
    local total = 0
    for _, v in ipairs(redis.call('HVALS', inflight)) do total = total + tonumber(v) end
    return total
end

local function save()
    redis.call('HSET', meta, 'level', fmt(level), 'level_at', level_at, 'paused', paused,
        'ncomp', ncomp)
    for i = 1, 7 do redis.call('PEXPIRE', KEYS[i], ttl) end
    redis.call('SET', KEYS[8], '1', 'PX', 2592000000)
end
"""

# ARGV[9] priority (0/1), ARGV[10] registered (0/1), ARGV[11] poll_us, ARGV[12] slack_us,
# ARGV[13] want (requests this worker has waiting, >= 1)
# Reply: {'ok', completed_before, epoch, workers, granted}
#        {'wait', wait_us (-1: only a completion helps), paused_remaining_us, epoch, workers}
#        {'reaped', epoch}   the worker's lease ran out: take a new id and ask again
#        {'cfg', stored_cfg} another worker uses other windows on this key
RESERVE: Final = (
    _PRELUDE
    + r"""
local priority, registered = ARGV[9] == '1', ARGV[10] == '1'
local poll_us, slack_us = tonumber(ARGV[11]), tonumber(ARGV[12])
local want = tonumber(ARGV[13])
if not redis.call('ZSCORE', workers, worker) then
    if registered and not restarted then
        save()
        return {'reaped', epoch}
    end
    redis.call('ZADD', workers, now + lease_us, worker)
end

-- The queue: drop a front entry whose worker stopped asking (killed while waiting).
local is_head = priority
while not is_head do
    local head = redis.call('ZRANGE', queue, 0, 0)[1]
    if not head or head == worker then
        is_head = true
    else
        local deadline = tonumber(redis.call('HGET', qdead, head) or '0')
        if deadline >= now then break end
        redis.call('ZREM', queue, head)
        redis.call('HDEL', qdead, head)
    end
end

-- The rule (see qlara_async._limiter): windows counted at completion, in-flight as now, and
-- the conservative bucket.
local flying = in_flight()
local wait = 0
local counts = {}
if now < paused then wait = paused - now end
for i = 1, #limits do
    local floor = '(' .. (now - spans[i])
    local count = redis.call('ZCOUNT', comps, floor, '+inf')
    counts[i] = count
    local excess = count + flying + 1 - limits[i]
    if excess > 0 then
        if excess > count then
            wait = math.huge
        else
            local e = redis.call('ZRANGEBYSCORE', comps, floor, '+inf', 'WITHSCORES', 'LIMIT',
                excess - 1, 1)
            wait = math.max(wait, tonumber(e[2]) + spans[i] - now)
        end
    end
end
local debt = math.max(0, level - rate * (now - level_at))
local excess = debt + flying + 1 - capacity
if excess > 1e-9 then
    if flying + 1 > capacity then wait = math.huge
    else wait = math.max(wait, math.ceil(excess / rate)) end
end

local nworkers = redis.call('ZCARD', workers)
if wait > 0 or not is_head then
    if not priority then
        if not redis.call('ZSCORE', queue, worker) then
            local seq = redis.call('HINCRBY', meta, 'seq', 1)
            redis.call('ZADD', queue, seq, worker)
        end
        local next_ask = poll_us
        if wait ~= math.huge and wait > next_ask then next_ask = wait end
        redis.call('HSET', qdead, worker, now + next_ask + slack_us)
    end
    save()
    local reply = -1
    if wait ~= math.huge then reply = math.ceil(wait) end
    if not is_head and reply == 0 then reply = poll_us end
    return {'wait', reply, math.max(0, paused - now), epoch, nworkers}
end

-- Up to ``want`` at once (this worker's queue): as many as every window and the bucket allow
-- with all of them in flight. One round trip for a burst, and still first come, first served.
local room = math.min(want, math.floor(capacity - debt - flying + 1e-9))
for i = 1, #limits do room = math.min(room, limits[i] - counts[i] - flying) end
if room < 1 then room = 1 end
redis.call('HINCRBY', inflight, worker, room)
redis.call('ZREM', queue, worker)
redis.call('HDEL', qdead, worker)
local lost_now = redis.call('ZCOUNT', lost, '(' .. now, '+inf')
save()
return {'ok', ncomp - lost_now, epoch, nworkers, room}
"""
)

# ARGV[9] pause_us (0: none), ARGV[10] leave (0/1: leave the queue; 2: also unregister),
# ARGV[11] use_headers (0/1), then one group of 6 per finished request:
#   worker, epoch, completed_before, kind (0 unsent, 1 answered, 2 lost), remaining (-1: none),
#   counted (1: it holds a slot in ``inflight``)
# Reply: {'ok', header_updates, epoch} or {'cfg', stored_cfg}
REPORT: Final = (
    _PRELUDE
    + r"""
local pause_us, leave, use_headers = tonumber(ARGV[9]), tonumber(ARGV[10]), ARGV[11] == '1'
redis.call('ZADD', workers, 'XX', 'GT', now + lease_us, worker)
local flying = in_flight()
local updates = 0
local i = 12
while ARGV[i] do
    local w, e, before = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
    local kind, remaining, counted = ARGV[i + 3], tonumber(ARGV[i + 4]), ARGV[i + 5] == '1'
    i = i + 6
    -- A worker reaped meanwhile had its slots turned into completions already: nothing to
    -- give back (counting the completion again below only makes the count safer).
    if counted and e == epoch and tonumber(redis.call('HGET', inflight, w) or '0') > 0 then
        redis.call('HINCRBY', inflight, w, -1)
        flying = flying - 1
    end
    if kind == '1' then
        complete(now, false)
        if use_headers and remaining >= 0 and e == epoch then
            -- The server's own budget (see qlara_async._limiter): what it still admits, less
            -- what may have arrived since.
            local since = ncomp - 1 - before
            local budget = remaining - since - flying
            local lvl = capacity - flying - budget
            if lvl < level then level = math.max(0, lvl) end
            updates = updates + 1
        end
    elseif kind == '2' then
        complete(now + grace, true)
    end
end
if pause_us > 0 and now + pause_us > paused then paused = now + pause_us end
if leave >= 1 then
    redis.call('ZREM', queue, worker)
    redis.call('HDEL', qdead, worker)
end
if leave == 2 and tonumber(redis.call('HGET', inflight, worker) or '0') <= 0 then
    redis.call('HDEL', inflight, worker)
    redis.call('ZREM', workers, worker)
end
save()
return {'ok', updates, epoch}
"""
)
