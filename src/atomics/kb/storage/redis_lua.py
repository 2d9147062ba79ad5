"""The Redis backend's server-side scripts (Lua, run atomically by the server).

Key layout under a namespace ``ns`` (every key starts with ``{ns}:``, a hash tag):

* ``{ns}:meta``: hash -- ``retain`` (the namespace's retention, fixed when it is made);
* ``{ns}:tips``: hash topic -> the last seq assigned (a topic exists once it has a seq);
* ``{ns}:log:<topic>``: stream, one entry per insight, entry id ``0-<seq + 1>``, fields
  ``d`` (JSON ``[agent_id, content, meta, timestamp]``) and, for an explicit id, ``i``;
* ``{ns}:ids``: hash explicit id -> ``"<seq>:<topic>"``;
* ``{ns}:world``: hash key -> ``"<version>\\n<JSON [agent_id, timestamp]>\\n<JSON value>"``
  (a tombstone has an empty value part);
* ``{ns}:wkeys``: sorted set of every world key (score 0: ordered by bytes, which for
  UTF-8 is code point order, as Python sorts str);
* ``{ns}:changes``: stream, the change feed: one entry per stored change, written in the
  same script as the change (so an entry is never read before its state is readable);
* ``{ns}:req:<writer>``: the reply of a writer's (a client thread's) latest write, kept
  for a while, so that a write retried after a lost reply (a timeout, a reconnect) returns
  it instead of writing again;
* ``{ns}:wake:<client>``: a stream one client writes to wake its own feed thread (close).

Numbers in Lua are doubles: seqs and versions are exact below 2**53. Values are never
decoded with cjson (it would round big ints and turn 1.0 into 1): a merge works on the
JSON text where that is exact and otherwise hands the current value back to the client,
which completes the merge as a compare-and-set (see ``MERGE``).
"""

from __future__ import annotations

__all__ = ["APPEND", "COUNT", "DELETE_IF", "MERGE", "PUT_IF", "SCAN"]

# Shared helpers, prepended to the scripts that need them.
_COMMON = r"""
local P = ARGV[1]
local function fmt(n) return string.format('%d', n) end
-- A token is '<writer>.<n>': a writer (a thread of a client) keeps the reply of its latest
-- write only (it retries nothing older: its writes are synchronous), as 'n\n<reply>'.
local function finish(token, retry, ttl, reply)
  if token ~= '' then
    local writer, n = string.match(token, '^(.*)%.(%d+)$')
    redis.call('SET', P .. 'req:' .. writer, n .. '\n' .. cjson.encode(reply), 'PX', ttl)
  end
  return reply
end
local function replayed(token, retry)
  if token ~= '' and retry == '1' then
    local writer, n = string.match(token, '^(.*)%.(%d+)$')
    local done = redis.call('GET', P .. 'req:' .. writer)
    if done then
      local nl = string.find(done, '\n', 1, true)
      if string.sub(done, 1, nl - 1) == n then return cjson.decode(string.sub(done, nl + 1)) end
    end
  end
  return nil
end
"""

# APPEND: ARGV = P, topic, retain ('' or N), token, retry ('0'/'1'), ttl ms, feed maxlen,
# then per draft: id ('' for automatic), d.
# Reply: '<change id> <first seq>' when every draft was appended (their seqs follow on);
# else {change id or '', result per draft}, a result being the seq (a string) of a new
# insight or {seq, topic, d, id} of the stored insight an explicit id names.
APPEND = (
    _COMMON
    + r"""
local topic, retain, token = ARGV[2], ARGV[3], ARGV[4]
local retry, ttl, maxlen = ARGV[5], ARGV[6], ARGV[7]
local again = replayed(token, retry)
if again then return again end
local tips, ids, changes = P .. 'tips', P .. 'ids', P .. 'changes'
local log = P .. 'log:' .. topic
local last = redis.call('HGET', tips, topic)
local seq = last and (tonumber(last) + 1) or 0
local first = seq
local reply = {''}
local cid = ''
local hits = false
for k = 8, #ARGV, 2 do
  local id, d = ARGV[k], ARGV[k + 1]
  local stored = nil
  if id ~= '' then stored = redis.call('HGET', ids, id) end
  if stored then
    local colon = string.find(stored, ':', 1, true)
    local s = string.sub(stored, 1, colon - 1)
    local t = string.sub(stored, colon + 1)
    local e = redis.call('XRANGE', P .. 'log:' .. t, '0-' .. fmt(tonumber(s) + 1),
                         '0-' .. fmt(tonumber(s) + 1))
    local fields = e[1][2]
    local data = ''
    for f = 1, #fields, 2 do if fields[f] == 'd' then data = fields[f + 1] end end
    reply[#reply + 1] = {s, t, data, id}
    hits = true
  else
    if id ~= '' then
      redis.call('XADD', log, '0-' .. fmt(seq + 1), 'd', d, 'i', id)
      redis.call('HSET', ids, id, fmt(seq) .. ':' .. topic)
      cid = redis.call('XADD', changes, 'MAXLEN', '~', maxlen, '*', 'k', 'i', 't', topic,
                       's', fmt(seq), 'd', d, 'i', id)
    else
      redis.call('XADD', log, '0-' .. fmt(seq + 1), 'd', d)
      cid = redis.call('XADD', changes, 'MAXLEN', '~', maxlen, '*', 'k', 'i', 't', topic,
                       's', fmt(seq), 'd', d)
    end
    reply[#reply + 1] = fmt(seq)
    seq = seq + 1
  end
end
if seq > first then
  redis.call('HSET', tips, topic, fmt(seq - 1))
  if retain ~= '' then
    local excess = redis.call('XLEN', log) - tonumber(retain)
    if excess > 0 then
      for _, e in ipairs(redis.call('XRANGE', log, '-', '+', 'COUNT', excess)) do
        local fields = e[2]
        for f = 1, #fields, 2 do
          if fields[f] == 'i' then
            local s = tonumber(string.sub(e[1], 3)) - 1
            if redis.call('HGET', ids, fields[f + 1]) == fmt(s) .. ':' .. topic then
              redis.call('HDEL', ids, fields[f + 1])
            end
          end
        end
      end
      redis.call('XTRIM', log, 'MAXLEN', tonumber(retain))
    end
  end
end
if not hits then return finish(token, retry, ttl, cid .. ' ' .. fmt(first)) end
reply[1] = cid
return finish(token, retry, ttl, reply)
"""
)

# The world entry's parts, and the version check shared by PUT_IF, DELETE_IF and MERGE.
_WORLD = r"""
local world = P .. 'world'
local function parse(cur)
  if not cur then return 0, false, nil end
  local nl = string.find(cur, '\n', 1, true)
  local nl2 = string.find(cur, '\n', nl + 1, true)
  local value = string.sub(cur, nl2 + 1)
  return tonumber(string.sub(cur, 1, nl - 1)), value ~= '', value
end
local function store(key, cur, version, meta, value, maxlen)
  local text = fmt(version) .. '\n' .. meta .. '\n' .. value
  redis.call('HSET', world, key, text)
  if not cur then redis.call('ZADD', P .. 'wkeys', 0, key) end
  return redis.call('XADD', P .. 'changes', 'MAXLEN', '~', maxlen, '*', 'k', 'w', 'key', key,
                    'e', text)
end
local function matches(expected, version, live)
  if expected == '*' then return true end
  if expected == '-' then return not live end
  return live and fmt(version) == expected
end
"""

# PUT_IF: ARGV = P, key, expected ('*' any, '-' absent, or the version), meta, value, token,
# retry, ttl, maxlen. Reply: {'OK', version, change id} or {'C', current version or ''}.
PUT_IF = (
    _COMMON
    + _WORLD
    + r"""
local key, expected, meta, value = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local token, retry, ttl, maxlen = ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local again = replayed(token, retry)
if again then return again end
local cur = redis.call('HGET', world, key)
local version, live = parse(cur)
if not matches(expected, version, live) then
  return {'C', live and fmt(version) or ''}
end
local cid = store(key, cur, version + 1, meta, value, maxlen)
return finish(token, retry, ttl, {'OK', fmt(version + 1), cid})
"""
)

# DELETE_IF: ARGV = P, key, expected, meta, token, retry, ttl, maxlen.
# Reply: {'OK', version, change id}, {'C', current or ''} or {'N'} (absent: nothing written).
DELETE_IF = (
    _COMMON
    + _WORLD
    + r"""
local key, expected, meta = ARGV[2], ARGV[3], ARGV[4]
local token, retry, ttl, maxlen = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local again = replayed(token, retry)
if again then return again end
local cur = redis.call('HGET', world, key)
local version, live = parse(cur)
if not matches(expected, version, live) then
  return {'C', live and fmt(version) or ''}
end
if not live then return {'N'} end
local cid = store(key, cur, version + 1, meta, '', maxlen)
return finish(token, retry, ttl, {'OK', fmt(version + 1), cid})
"""
)

# MERGE: ARGV = P, key, reducer, value, meta, token, retry, ttl, maxlen.
# Reply: {'OK', version, change id, new value} or {'F', current version or '', current value
# or ''}: a case the script cannot compute exactly as Python would (big ints, floats mixed
# into a union, strings with escapes compared, nested lists compared, or an error Python
# raises) -- the client computes it with the Python reducer and stores it as a
# compare-and-set on that version: still one application per merge.
MERGE = (
    _COMMON
    + _WORLD
    + r"""
local key, reducer, v, meta = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local token, retry, ttl, maxlen = ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local again = replayed(token, retry)
if again then return again end
local cur = redis.call('HGET', world, key)
local version, live, a = parse(cur)

local function kind(t)
  local c = string.sub(t, 1, 1)
  if c == '[' then return 'list' end
  if c == '{' then return 'dict' end
  if c == '"' then return 'str' end
  if c == 't' or c == 'f' then return 'bool' end
  if c == 'n' then return 'none' end
  if string.find(t, '[%.eE]') then return 'float' end
  local digits = string.gsub(t, '^%-', '')
  if #digits <= 15 then return 'int' end
  return 'bigint'
end
local function numeric(k) return k == 'int' or k == 'float' end
-- bytewise a < b (Lua's '<' on strings uses the server's locale collation)
local function less(x, y)
  local n = math.min(#x, #y)
  for i = 1, n do
    local bx, by = string.byte(x, i), string.byte(y, i)
    if bx ~= by then return bx < by end
  end
  return #x < #y
end
local function plain_str(t)  -- a JSON string with no escapes: printable ASCII, its repr simple
  return string.sub(t, 1, 1) == '"' and not string.find(t, "[\\']")
end
local function float_text(r)
  if r ~= r or r == math.huge or r == -math.huge then return nil end
  local s
  for p = 15, 17 do
    s = string.format('%.' .. p .. 'g', r)
    if tonumber(s) == r then break end
  end
  if not string.find(s, '[%.eEn]') then s = s .. '.0' end
  return s
end
local function concat_lists(x, y)
  if x == '[]' then return y end
  if y == '[]' then return x end
  return string.sub(x, 1, -2) .. ',' .. string.sub(y, 2)
end
-- the elements of a JSON list of ints and plain strings (nil for anything else)
local function elements(t)
  local out = {}
  if t == '[]' then return out end
  local i, n = 2, #t
  while i <= n do
    local c = string.sub(t, i, i)
    local j
    if c == '"' then
      j = string.find(t, '"', i + 1, true)
      if not j then return nil end
      local s = string.sub(t, i, j)
      if not plain_str(s) then return nil end
      out[#out + 1] = s
    else
      local s, e = string.find(t, '^%-?%d+', i)
      if not s then return nil end
      local after = string.sub(t, e + 1, e + 1)
      if after ~= ',' and after ~= ']' then return nil end
      out[#out + 1] = string.sub(t, s, e)
      j = e
    end
    local sep = string.sub(t, j + 1, j + 1)
    if sep == ']' then return out end
    if sep ~= ',' then return nil end
    i = j + 2
  end
  return nil
end
local function repr(t)
  if string.sub(t, 1, 1) == '"' then return "'" .. string.sub(t, 2, -2) .. "'" end
  return t
end

local new = nil
if reducer == 'append' then
  if not live then new = '[' .. v .. ']'
  elseif kind(a) == 'list' then new = concat_lists(a, '[' .. v .. ']') end
elseif reducer == 'sum' then
  if not live then new = v
  else
    local ka, kv = kind(a), kind(v)
    if ka == 'int' and kv == 'int' then new = fmt(tonumber(a) + tonumber(v))
    elseif numeric(ka) and numeric(kv) then new = float_text(tonumber(a) + tonumber(v))
    elseif ka == 'str' and kv == 'str' then new = string.sub(a, 1, -2) .. string.sub(v, 2)
    elseif ka == 'list' and kv == 'list' then new = concat_lists(a, v) end
  end
elseif reducer == 'max' or reducer == 'min' then
  if not live then new = v
  else
    local ka, kv = kind(a), kind(v)
    local greater = nil  -- v > a ?
    local smaller = nil  -- v < a ?
    if numeric(ka) and numeric(kv) then
      greater, smaller = tonumber(v) > tonumber(a), tonumber(v) < tonumber(a)
    elseif ka == 'str' and kv == 'str' and plain_str(a) and plain_str(v) then
      local x, y = string.sub(a, 2, -2), string.sub(v, 2, -2)
      greater, smaller = less(x, y), less(y, x)
    end
    if greater ~= nil then
      if reducer == 'max' then new = greater and v or a else new = smaller and v or a end
    end
  end
elseif reducer == 'union' then
  local items
  local kv = kind(v)
  if kv == 'list' then items = elements(v)
  elseif kv == 'str' and plain_str(v) then items = {v}
  elseif kv == 'int' or kv == 'bigint' then items = {v} end
  local current = {}
  if live then
    if kind(a) == 'list' then current = elements(a) else current = nil end
  end
  if items and current then
    local seen, all = {}, {}
    for _, list in ipairs({current, items}) do
      for _, x in ipairs(list) do
        if not seen[x] then seen[x] = true; all[#all + 1] = x end
      end
    end
    table.sort(all, function(x, y) return less(repr(x), repr(y)) end)
    new = '[' .. table.concat(all, ',') .. ']'
  end
end
if new == nil then
  return {'F', live and fmt(version) or '', live and a or ''}
end
local cid = store(key, cur, version + 1, meta, new, maxlen)
return finish(token, retry, ttl, {'OK', fmt(version + 1), cid, new})
"""
)

# SCAN: ARGV = P, start, stop (ZRANGE BYLEX bounds), limit (-1: all).
# Reply: {key, entry text, key, entry text, ...} of live keys, in order.
SCAN = r"""
local P = ARGV[1]
local start, stop, limit = ARGV[2], ARGV[3], tonumber(ARGV[4])
local out, found, offset = {}, 0, 0
local chunk = 256
while limit < 0 or found < limit do
  local keys = redis.call('ZRANGE', P .. 'wkeys', start, stop, 'BYLEX', 'LIMIT', offset, chunk)
  if #keys == 0 then break end
  local entries = redis.call('HMGET', P .. 'world', unpack(keys))
  for i, key in ipairs(keys) do
    local e = entries[i]
    if e and string.byte(e, -1) ~= 10 then
      out[#out + 1] = key
      out[#out + 1] = e
      found = found + 1
      if found == limit then break end
    end
  end
  offset = offset + #keys
  if #keys < chunk then break end
end
return out
"""

# COUNT: ARGV = P. Reply: insights kept, over every topic (one instant).
COUNT = r"""
local P = ARGV[1]
local n = 0
for _, topic in ipairs(redis.call('HKEYS', P .. 'tips')) do
  n = n + redis.call('XLEN', P .. 'log:' .. topic)
end
return n
"""
