-- Counts for ss_stats(): sessions of each type, bytes, last change, oldest change kept, changes kept
-- and their bytes, sessions expired and reclaimed. ARGV: P, clock.
local latest = tonumber(redis.call('GET', P .. 'seq') or '0')
local first = redis.call('XRANGE', P .. 'f', '-', '+', 'COUNT', 1)
local oldest = latest + 1
if #first > 0 then
  oldest = tonumber(string.match(first[1][1], '^(%d+)'))
end
local out = {}
for t = 0, 3 do
  out[#out + 1] = redis.call('ZCARD', P .. 'o:' .. t)
end
out[#out + 1] = tonumber(redis.call('GET', P .. 'bytes') or '0')
out[#out + 1] = fmt(latest)
out[#out + 1] = fmt(oldest)
out[#out + 1] = redis.call('XLEN', P .. 'f')
out[#out + 1] = tonumber(redis.call('GET', P .. 'fb') or '0')
out[#out + 1] = tonumber(redis.call('GET', P .. 'expired') or '0')
return out
