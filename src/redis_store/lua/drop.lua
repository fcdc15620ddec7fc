-- Removes every session of one type, as one change. ARGV: P, clock, feed budget, the type. Returns
-- how many were removed, not counting those that had expired (gone already for every caller).
local budget = tonumber(ARGV[3])
local t = ARGV[4]
local all = P .. 'o:' .. t
local members = redis.call('ZRANGE', all, 0, -1)
if #members == 0 then return 0 end
local emptied = {}
local alive_ones = 0
for _, member in ipairs(members) do
  local id = string.sub(member, KEYLEN + 1)
  local key = session_key(id)
  local s = redis.call('HMGET', key, 'u', 'e', 'k', 'c', 'p', 'a', 'w')
  for _, index in ipairs(indexes(t, s[1], s[2])) do
    emptied[index] = true
  end
  if listed(member, s, 3) then alive_ones = alive_ones + 1 end
  unschedule(key)
  redis.call('DECRBY', P .. 'bytes', redis.call('HSTRLEN', key, 'j'))
  redis.call('DEL', key)
end
for index in pairs(emptied) do
  redis.call('DEL', index)
end
local number = redis.call('INCR', P .. 'seq')
feed(budget, number, 48, { 'o', 'drop', 't', t })
return alive_ones
