-- Frees up to ARGV[3] sessions that have expired, each a change of the feed ('expire'), the earliest
-- written first; ARGV[4] is the feed budget. Returns how many it freed.
local limit, budget = tonumber(ARGV[3]), tonumber(ARGV[4])
local schedule = P .. 'x'
local due = redis.call('ZRANGEBYSCORE', schedule, '-inf', '(' .. fmt(NOW), 'LIMIT', 0, limit)
local found = {}
for _, member in ipairs(due) do
  local id, t, u, e, k, size = cmsgpack.unpack(member)
  local stored = redis.call('HMGET', session_key(id), 'x', 'v', 'e')
  found[#found + 1] = { member = member, id = id, t = t, u = u, e = e, k = k, size = size, stored = stored }
end
-- In the order they were written, as a local store reclaims a batch.
table.sort(found, function(a, b)
  return (tonumber(a.stored[2]) or 0) < (tonumber(b.stored[2]) or 0)
end)
for _, s in ipairs(found) do
  local u = s.u ~= '' and string.sub(s.u, 2)
  local e = s.e ~= '' and string.sub(s.e, 2)
  if s.stored[1] == s.member then
    remove(budget, s.id, s.t, u, e, s.k, redis.call('INCR', P .. 'seq'), 'expire')
  else
    -- Redis dropped the session by itself: its index entries and bytes go now. If it was written
    -- again since, the new one replaced it for every reader already, and stays.
    for _, index in ipairs(indexes(s.t, u, e)) do
      redis.call('ZREM', index, s.k .. s.id)
    end
    redis.call('DECRBY', P .. 'bytes', s.size)
    redis.call('ZREM', schedule, s.member)
    if not s.stored[1] then
      removal(budget, s.id, s.t, redis.call('INCR', P .. 'seq'), 'expire')
    end
  end
end
return #found
