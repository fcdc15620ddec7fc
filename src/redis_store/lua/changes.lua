-- The changes after number ARGV[3], at most ARGV[4] (ARGV: P, clock, then these). Returns
-- {'truncated', oldest, latest} when the feed no longer holds the change after it (or it was never
-- made), else {'ok', latest, entries}.
local f = P .. 'f'
local after, limit = tonumber(ARGV[3]), tonumber(ARGV[4])
local latest = tonumber(redis.call('GET', P .. 'seq') or '0')
local first = redis.call('XRANGE', f, '-', '+', 'COUNT', 1)
local oldest = latest + 1
if #first > 0 then
  oldest = tonumber(string.match(first[1][1], '^(%d+)'))
end
if after > latest or after + 1 < oldest then
  return { 'truncated', fmt(oldest), fmt(latest) }
end
return { 'ok', fmt(latest), redis.call('XRANGE', f, '(' .. ARGV[3] .. '-0', '+', 'COUNT', limit) }
