-- Removes every session of one type, as one change. ARGV: P, feed budget, the type. Returns how many
-- were removed.
local budget = tonumber(ARGV[2])
local t = ARGV[3]
local all = P .. 'o:' .. t
local members = redis.call('ZRANGE', all, 0, -1)
if #members == 0 then return 0 end
local emptied = {}
for _, member in ipairs(members) do
  local id = string.sub(member, KEYLEN + 1)
  local key = session_key(id)
  local stored = redis.call('HMGET', key, 'u', 'e')
  for _, index in ipairs(indexes(t, stored[1], stored[2])) do
    emptied[index] = true
  end
  redis.call('DECRBY', P .. 'bytes', redis.call('HSTRLEN', key, 'j'))
  redis.call('DEL', key)
end
for index in pairs(emptied) do
  redis.call('DEL', index)
end
local number = redis.call('INCR', P .. 'seq')
feed(budget, number, 48, { 'o', 'drop', 't', t })
return #members
