-- The sessions of one type that a filter selects. ARGV: P, clock, the type, the user ('' any), the
-- entity ('' any), the field to give of each ('q' the quoted id, 'j' the JSON), the most to give (-1:
-- all), and 'newest' to walk from the newest created_at (else from the oldest). Each session gives
-- its order key and that field.
local t, user, entity, field = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local limit, newest = tonumber(ARGV[7]), ARGV[8] == 'newest'
local index, check_entity
if user ~= '' then
  index = P .. 'u:' .. t .. ':' .. user
  check_entity = entity ~= ''
elseif entity ~= '' then
  index = P .. 'e:' .. t .. ':' .. entity
else
  index = P .. 'o:' .. t
end
-- What each member's hash gives: the field, the entity, and what tells whether it is listed (only
-- when sessions expire: otherwise every member's session is there and alive).
local fields = { field, 'e' }
if EXPIRES then fields = { field, 'e', 'k', 'c', 'p', 'a', 'w' } end
local out = {}
local found = 0
local chunk = 256
if limit >= 0 and limit < chunk then chunk = math.max(limit, 1) end
local start = 0
while limit < 0 or found < limit do
  local members
  if newest then
    members = redis.call('ZREVRANGE', index, start, start + chunk - 1)
  else
    members = redis.call('ZRANGE', index, start, start + chunk - 1)
  end
  if #members == 0 then break end
  start = start + #members
  for _, member in ipairs(members) do
    local id = string.sub(member, KEYLEN + 1)
    local s = redis.call('HMGET', session_key(id), unpack(fields))
    if (not check_entity or s[2] == entity) and listed(member, s, 3) then
      out[#out + 1] = string.sub(member, 1, KEYLEN)
      out[#out + 1] = s[1]
      found = found + 1
      if limit >= 0 and found >= limit then break end
    end
  end
  if chunk < 256 then chunk = chunk * 2 end
end
return out
