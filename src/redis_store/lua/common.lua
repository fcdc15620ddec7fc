-- Shared by every script of a Redis store (prepended to each). KEYS[1] is the store's identity key,
-- which routes the call to the namespace's slot. ARGV[1] is the namespace's key prefix, "ss:{NS}:",
-- whose hash tag keeps every key of a namespace in that slot; ARGV[2] is "NOW IDLE AGE": the caller's
-- clock (unix seconds) and the namespace's idle_expiry_s and max_age_s (0: none). A script's own
-- arguments follow.
--
-- Keys, with P the prefix:
--   P.."s:"..id            hash: t (type 0-3), u (user, absent when none), e (entity, absent when
--                          none), c (created_at, decimal), k (order key), v (version), p (updated_at),
--                          q (the id's JSON string as the session spells it), j (the session's JSON);
--                          when sessions expire, a (last read, with refresh_on_read) and x (its
--                          member of the expiry schedule)
--   P.."o:"..t             the sessions of type t      } sorted sets, all scores 0, ordered by member:
--   P.."u:"..t..":"..user  ... of that user             } the order key (16 hex digits of created_at
--   P.."e:"..t..":"..ent   ... of that agent/team/wf    } biased by 2^63, 16 of the first-insertion
--                                                        } number), then the id
--   P.."x"    the expiry schedule: a sorted set scored by the time each session expires, whose
--             members carry what is needed to unindex a session Redis itself has already dropped
--   P.."seq"  number of the last change (versions are change numbers)
--   P.."ins"  last first-insertion number
--   P.."bytes" bytes of the sessions' JSON
--   P.."expired" sessions expired and reclaimed
--   P.."f"    the change feed, a stream whose entry ids are change numbers; P.."fb" its bytes
local P = ARGV[1]
local KEYLEN = 32
local NOW, IDLE, AGE
do
  local now, idle, age = string.match(ARGV[2], '^(%-?%d+) (%d+) (%d+)$')
  NOW, IDLE, AGE = tonumber(now), tonumber(idle), tonumber(age)
end
local EXPIRES = IDLE > 0 or AGE > 0
-- How long after a session expires Redis drops it by itself: the store's reclaimers (or its next
-- write) normally free it first; this frees a namespace that nobody opens any more.
local GRACE = 60
-- The longest Redis expiry given, in seconds (Redis refuses times past 2^63 ms).
local MAX_TTL = 1e10

local function fmt(n)
  return string.format('%d', n)
end

local function session_key(id)
  return P .. 's:' .. id
end

-- The sorted sets that index a session of type t, user u and entity e (false: none).
local function indexes(t, u, e)
  local keys = { P .. 'o:' .. t }
  if u then keys[#keys + 1] = P .. 'u:' .. t .. ':' .. u end
  if e then keys[#keys + 1] = P .. 'e:' .. t .. ':' .. e end
  return keys
end

-- The time a session expires, from its created_at, updated_at and last read (false: never read): it
-- is alive while that time is not past. nil: it never expires.
local function deadline(c, p, a)
  local d
  if AGE > 0 then d = tonumber(c) + AGE end
  if IDLE > 0 then
    local last = tonumber(p)
    if a and tonumber(a) > last then last = tonumber(a) end
    if not d or last + IDLE < d then d = last + IDLE end
  end
  return d
end

local function alive(c, p, a)
  local d = deadline(c, p, a)
  return not d or d >= NOW
end

-- Puts the session stored at `key` on the expiry schedule at time `d`, under `member`, and gives its
-- hash a Redis expiry GRACE seconds after that.
local function schedule(key, member, d)
  redis.call('ZADD', P .. 'x', d, member)
  redis.call('HSET', key, 'x', member)
  local ttl = math.min(math.max(d - NOW, 0) + GRACE, MAX_TTL)
  redis.call('EXPIRE', key, fmt(math.floor(ttl)))
end

-- Takes the session stored at `key` off the expiry schedule.
local function unschedule(key)
  if EXPIRES then
    local member = redis.call('HGET', key, 'x')
    if member then redis.call('ZREM', P .. 'x', member) end
  end
end

-- Records change `number` in the feed, `size` bytes toward its budget; the oldest entries go while
-- the feed holds more than the budget. A feed that cannot record a change keeps nothing before it:
-- its entries are always the latest changes, without a gap.
local function feed(budget, number, size, fields)
  local f = P .. 'f'
  if budget <= 0 then
    redis.call('DEL', f, P .. 'fb')
    return
  end
  redis.call('XADD', f, fmt(number) .. '-0', 'z', fmt(size), unpack(fields))
  local bytes = redis.call('INCRBY', P .. 'fb', size)
  while bytes > budget do
    local oldest = redis.call('XRANGE', f, '-', '+', 'COUNT', 1)
    if #oldest == 0 then break end
    bytes = redis.call('DECRBY', P .. 'fb', tonumber(oldest[1][2][2]))
    redis.call('XDEL', f, oldest[1][1])
  end
end

-- Records that session `id` of type t went (op 'delete' or 'expire') as change `number`.
local function removal(budget, id, t, number, op)
  if op == 'expire' then redis.call('INCR', P .. 'expired') end
  feed(budget, number, 48 + #id, { 'o', op, 't', t, 'd', id })
end

-- Removes the stored session `id` (its fields t, u, e, k as HMGET gave them) as change `number`.
local function remove(budget, id, t, u, e, k, number, op)
  local key = session_key(id)
  local member = k .. id
  for _, index in ipairs(indexes(t, u, e)) do
    redis.call('ZREM', index, member)
  end
  unschedule(key)
  redis.call('DECRBY', P .. 'bytes', redis.call('HSTRLEN', key, 'j'))
  redis.call('DEL', key)
  removal(budget, id, t, number, op)
end

-- Whether the session behind index member `member` is there for a reader: stored under that order
-- key (not a stale entry of a session Redis dropped by itself, since written again) and alive. `s`
-- holds its fields k, c, p, a and w from `at` on.
local function listed(member, s, at)
  if not EXPIRES then return true end
  return s[at] == string.sub(member, 1, KEYLEN) and alive(s[at + 1], s[at + 4] or s[at + 2], s[at + 3])
end
