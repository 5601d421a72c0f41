"""The Lua scripts every write to Redis runs (ticker/store/redis_backend.py calls them): atomic on one slot in a
cluster too, newest-wins, and announcing what changed on the channel.

Every script PUBLISHes before its first write: a refused PUBLISH (an ACL without the channel) fails the script
before anything is written (a script's writes are not rolled back), and subscribers still hear of it only after
the script, as Redis runs it whole.
"""

# KEYS: data hash, ts hash, SOURCES_SET; ARGV: the channel, the drop count, the drops, (field, ts, value)..., source
MERGE = """
local drops = tonumber(ARGV[2])
local newer, dropped = {}, {}
for i = 3, drops + 2 do dropped[ARGV[i]] = true end
for i = drops + 3, #ARGV - 1, 3 do
  local have = -1
  if not dropped[ARGV[i]] then have = tonumber(redis.call('HGET', KEYS[2], ARGV[i]) or '-1') end
  if tonumber(ARGV[i + 1]) > have then newer[#newer + 1] = i end
end
if #newer > 0 then redis.call('PUBLISH', ARGV[1], 'data:' .. ARGV[#ARGV]) end
for i = 3, drops + 2 do
  redis.call('HDEL', KEYS[1], ARGV[i])
  redis.call('HDEL', KEYS[2], ARGV[i])
end
for _, i in ipairs(newer) do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
end
if #newer > 0 then redis.call('SADD', KEYS[3], ARGV[#ARGV]) end
return #newer
"""

# KEYS: the status, SOURCES_SET, the status_ts hash; ARGV: the channel, the status JSON, the source, its touched
STATUS = """
local have = redis.call('HGET', KEYS[3], ARGV[3])
if have and tonumber(have) > tonumber(ARGV[4]) then return 0 end
redis.call('PUBLISH', ARGV[1], 'status:' .. ARGV[3])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return 1
"""

# KEYS: the currency's hash, HISTORY_SET; ARGV: the channel, today (ISO), the currency, then date/value pairs.
# ISO dates compare as strings: a date before today is written only where absent, so a confirmed past day is
# never overwritten, whichever replica, clock or write-back comes later.
HISTORY = """
local written, fields = {}, {}
for i = 4, #ARGV - 1, 2 do
  local field, value = ARGV[i], ARGV[i + 1]
  local have = redis.call('HGET', KEYS[1], field)
  if (field < ARGV[2] and not have) or (field >= ARGV[2] and have ~= value) then
    written[#written + 1] = i
    fields[#fields + 1] = field
  end
end
if #written == 0 then return 0 end
redis.call('PUBLISH', ARGV[1], 'history:' .. ARGV[3] .. ':' .. table.concat(fields, ','))
for _, i in ipairs(written) do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('SADD', KEYS[2], ARGV[3])
return #written
"""

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
