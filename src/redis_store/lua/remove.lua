-- Removes sessions by id: ss_delete_session(_if) and ss_delete_sessions(). ARGV: P, clock, feed
-- budget, the handle's type, the user filter ('' none, '=' .. user), expected version ('' any; only
-- with one id), then the ids. A session goes when it is alive, has that type and, with a filter, that
-- user; an id named twice goes once. Returns {'ok', removed} or {'version', stored version (0: none
-- visible)}.
local budget = tonumber(ARGV[3])
local t, user, expected = ARGV[4], ARGV[5], ARGV[6]
local removed = 0
for i = 7, #ARGV do
  local id = ARGV[i]
  local stored = redis.call('HMGET', session_key(id), 't', 'u', 'e', 'k', 'v', 'c', 'p', 'a', 'w')
  local visible = stored[1] == t and (user == '' or (stored[2] and ('=' .. stored[2]) == user))
    and (not EXPIRES or alive(stored[6], stored[9] or stored[7], stored[8]))
  if expected ~= '' then
    local have = (visible and tonumber(stored[5])) or 0
    if tonumber(expected) ~= have then
      return { 'version', have }
    end
  end
  if visible then
    local number = redis.call('INCR', P .. 'seq')
    remove(budget, id, stored[1], stored[2], stored[3], stored[4], number, 'delete')
    removed = removed + 1
  end
end
return { 'ok', removed }
