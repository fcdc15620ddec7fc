-- Stores sessions, all or none: an upsert, a batch, an import, or the conditional write that ends a
-- rename or an append. ARGV: P, clock, feed budget, element count, then per element (ELEMENT fields):
--   id, t, u ('' none, '=' .. user), e (same), c (created_at given, '' when not), co (16 hex digits
--   of the created_at given, or of the fallback p when none is), p (updated_at), x (expected version,
--   '' when any), own ('1': refuse to change a stored owner), q (quoted id), shape, a, b, d: the
--   session's JSON is a .. V .. b (shape 'v'), a .. C .. b .. V .. d ('cv') or a .. V .. b .. C .. d
--   ('vc'), with V its version and C its created_at.
-- Returns {'ok', version1, created1, ...}, or {'conflict', i, stored type}, {'owner', i},
-- {'version', i, stored version (0: none)}: i counts elements from 0, and nothing was stored.
local ELEMENT = 14
local budget = tonumber(ARGV[3])
local count = tonumber(ARGV[4])

local function arg(i, field)
  return ARGV[4 + i * ELEMENT + field]
end

local function opt(flagged)
  if flagged == '' then return false end
  return string.sub(flagged, 2)
end

-- First, the sessions named that have expired go, each a change of its own, as every reader already
-- treats them as gone (and stay gone if a check below refuses the write).
if EXPIRES then
  for i = 0, count - 1 do
    local id = arg(i, 1)
    local s = redis.call('HMGET', session_key(id), 't', 'u', 'e', 'k', 'c', 'p', 'a', 'w')
    if s[1] and not alive(s[5], s[8] or s[6], s[7]) then
      remove(budget, id, s[1], s[2], s[3], s[4], redis.call('INCR', P .. 'seq'), 'expire')
    end
  end
end

-- Then every check, against what is stored and what earlier elements will have stored.
local earlier = {}
local plan = {}
for i = 0, count - 1 do
  local id, t, u = arg(i, 1), arg(i, 2), arg(i, 3)
  local stored = redis.call('HMGET', session_key(id), 't', 'u', 'c', 'k', 'v')
  if stored[1] and stored[1] ~= t then
    return { 'conflict', i, stored[1] }
  end
  local before = earlier[id]
  local owner, created, order
  if before then
    owner, created, order = before.u, before.c, before.k
  elseif stored[1] then
    owner = stored[2] and ('=' .. stored[2]) or ''
    created, order = stored[3], stored[4]
  end
  if arg(i, 9) == '1' and owner and owner ~= '' and owner ~= u then
    return { 'owner', i }
  end
  local expected = arg(i, 8)
  if expected ~= '' then
    local have = (stored[1] and tonumber(stored[5])) or 0
    if tonumber(expected) ~= have then
      return { 'version', i, have }
    end
  end
  local c, co = arg(i, 5), arg(i, 6)
  if c == '' then
    if created then
      c, co = created, string.sub(order, 1, 16)
    else
      c = arg(i, 7)
    end
  end
  -- A session new to the store gets its first-insertion number when it is written.
  local inserted = false
  if order and #order == KEYLEN then inserted = string.sub(order, 17, KEYLEN) end
  plan[i] = { id = id, t = t, u = u, c = c, co = co, inserted = inserted }
  earlier[id] = { u = u, c = c, k = co .. (inserted or '') }
end

-- Then the writes, each a change of its own.
local out = { 'ok' }
local assigned = {}
for i = 0, count - 1 do
  local step = plan[i]
  local id, key = step.id, session_key(step.id)
  local version = fmt(redis.call('INCR', P .. 'seq'))
  local inserted = step.inserted or assigned[id]
  if not inserted then
    inserted = string.format('%016x', redis.call('INCR', P .. 'ins'))
  end
  assigned[id] = inserted
  local k = step.co .. inserted
  local shape, a, b, d = arg(i, 11), arg(i, 12), arg(i, 13), arg(i, 14)
  local json
  if shape == 'v' then
    json = a .. version .. b
  elseif shape == 'cv' then
    json = a .. step.c .. b .. version .. d
  else
    json = a .. version .. b .. step.c .. d
  end
  local old = redis.call('HMGET', key, 't', 'u', 'e', 'k')
  if old[1] then
    for _, index in ipairs(indexes(old[1], old[2], old[3])) do
      redis.call('ZREM', index, old[4] .. id)
    end
    unschedule(key)
    redis.call('DECRBY', P .. 'bytes', redis.call('HSTRLEN', key, 'j'))
    redis.call('DEL', key)
  end
  local u, e = opt(step.u), opt(arg(i, 4))
  local p = arg(i, 7)
  local fields = { 't', step.t, 'c', step.c, 'k', k, 'v', version, 'p', p, 'q', arg(i, 10), 'j', json }
  -- Idle time counts from updated_at, or from now when that is earlier (an import may carry a
  -- later one, which would keep the session for ever): then kept apart, in w.
  local w = p
  if tonumber(p) > NOW then
    w = fmt(NOW)
    fields[#fields + 1] = 'w'; fields[#fields + 1] = w
  end
  if u then fields[#fields + 1] = 'u'; fields[#fields + 1] = u end
  if e then fields[#fields + 1] = 'e'; fields[#fields + 1] = e end
  redis.call('HSET', key, unpack(fields))
  for _, index in ipairs(indexes(step.t, u, e)) do
    redis.call('ZADD', index, 0, k .. id)
  end
  if EXPIRES then
    schedule(key, cmsgpack.pack(id, step.t, step.u, arg(i, 4), k, #json), deadline(step.c, w, false))
  end
  redis.call('INCRBY', P .. 'bytes', #json)
  feed(budget, version, 48 + #json, { 'o', 'upsert', 't', step.t, 'd', id, 'v', version, 'q', arg(i, 10), 'j', json })
  out[#out + 1] = version
  out[#out + 1] = step.c
end
return out
