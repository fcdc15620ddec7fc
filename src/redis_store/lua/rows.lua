-- Every field of the sessions of some types that a filter selects, for a query (or, with no filter and
-- every type, an export), with the number of the last change. ARGV: P, clock, 'alive' (or 'held':
-- expired sessions not yet reclaimed too), the user ('' any), the entity ('' any), then the types.
-- Returns {last change, then per session: t, u, e, c, p, v, k, q, j}.
local held, user, entity = ARGV[3] == 'held', ARGV[4], ARGV[5]
local out = { redis.call('GET', P .. 'seq') or '0' }
for i = 6, #ARGV do
  local t = ARGV[i]
  local index, check_entity
  if user ~= '' then
    index = P .. 'u:' .. t .. ':' .. user
    check_entity = entity ~= ''
  elseif entity ~= '' then
    index = P .. 'e:' .. t .. ':' .. entity
  else
    index = P .. 'o:' .. t
  end
  for _, member in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    local id = string.sub(member, KEYLEN + 1)
    local s = redis.call('HMGET', session_key(id), 't', 'u', 'e', 'c', 'p', 'v', 'k', 'q', 'j', 'a', 'w')
    local shown
    if held then
      shown = s[1]
    else
      shown = listed(member, { s[7], s[4], s[5], s[10], s[11] }, 1)
    end
    if (not check_entity or s[3] == entity) and shown then
      for f = 1, 9 do
        out[#out + 1] = s[f]
      end
    end
  end
end
return out
