-- Shared by every script of a Redis store (prepended to each). KEYS[1] is the store's identity key,
-- which routes the call to the namespace's slot; ARGV[1] is the namespace's key prefix, "ss:{NS}:",
-- whose hash tag keeps every key of a namespace in that slot.
--
-- Keys, with P the prefix:
--   P.."s:"..id            hash: t (type 0-3), u (user, absent when none), e (entity, absent when
--                          none), c (created_at, decimal), k (order key), v (version), p (updated_at),
--                          q (the id's JSON string as the session spells it), j (the session's JSON)
--   P.."o:"..t             the sessions of type t      } sorted sets, all scores 0, ordered by member:
--   P.."u:"..t..":"..user  ... of that user             } the order key (16 hex digits of created_at
--   P.."e:"..t..":"..ent   ... of that agent/team/wf    } biased by 2^63, 16 of the first-insertion
--                                                        } number), then the id
--   P.."seq"  number of the last change (versions are change numbers)
--   P.."ins"  last first-insertion number
--   P.."bytes" bytes of the sessions' JSON
--   P.."f"    the change feed, a stream whose entry ids are change numbers; P.."fb" its bytes
local P = ARGV[1]
local KEYLEN = 32

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

-- Removes the stored session `id` (its fields t, u, e, k as HMGET gave them) as change `number`.
local function remove(budget, id, t, u, e, k, number, op)
  local key = session_key(id)
  local member = k .. id
  for _, index in ipairs(indexes(t, u, e)) do
    redis.call('ZREM', index, member)
  end
  redis.call('DECRBY', P .. 'bytes', redis.call('HSTRLEN', key, 'j'))
  redis.call('DEL', key)
  feed(budget, number, 48 + #id, { 'o', op, 't', t, 'd', id })
end
