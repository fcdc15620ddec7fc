-- Reads a session for a store whose reads refresh idle time (refresh_on_read): its JSON, when it is
-- alive, of type ARGV[4] and, with a user ARGV[5] ('' any, '=' .. user), that user's; false
-- otherwise. The read stamps its time on the session and moves its expiry.
local id, t, user = ARGV[3], ARGV[4], ARGV[5]
local key = session_key(id)
local s = redis.call('HMGET', key, 't', 'u', 'c', 'p', 'a', 'x', 'j', 'w')
if s[1] ~= t or (user ~= '' and (not s[2] or ('=' .. s[2]) ~= user)) or not alive(s[3], s[8] or s[4], s[5]) then
  return false
end
redis.call('HSET', key, 'a', fmt(NOW))
schedule(key, s[6], deadline(s[3], s[8] or s[4], NOW))
return s[7]
