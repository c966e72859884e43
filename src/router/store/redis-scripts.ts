// Lua scripts of the Redis RouteStore. Each touches only one app's keys (one `{a}` hash tag,
// so it runs unchanged on Cluster), is atomic, bumps the app's version and publishes the
// change on `route-events` in the same step (design.md §Redis keys).
//
// The version is max(old + 1, Redis TIME in µs): it grows with every change and keeps growing
// when an app is deleted and created again, so sync.ts can drop a reload older than one it has.
// Lua numbers are doubles: µs since epoch (~1.8e15) is exact below 2^53; format with %.0f.

const BUMP = `
local function bump(appkey, channel, app)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local old = tonumber(redis.call('HGET', appkey, 'version') or '0')
  local v = old + 1
  if now > v then v = now end
  local vs = string.format('%.0f', v)
  if redis.call('EXISTS', appkey) == 1 then redis.call('HSET', appkey, 'version', vs) end
  redis.call('PUBLISH', channel, '{"app":' .. cjson.encode(app) .. ',"version":' .. vs .. '}')
  return vs
end
`;

export interface ScriptDef {
  numberOfKeys: number;
  lua: string;
}

/** KEYS: app. ARGV: channel, app, then field/value pairs. → {created(0/1), version}. */
export const PUT_APP: ScriptDef = {
  numberOfKeys: 1,
  lua: `${BUMP}
local created = redis.call('EXISTS', KEYS[1]) == 0
if created then redis.call('HSET', KEYS[1], 'maintenance', '0', 'balancer', 'p2c', 'affinity', '0') end
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
local v = bump(KEYS[1], ARGV[1], ARGV[2])
return {created and 1 or 0, v}`,
};

/** KEYS: app, domains, dynos, leases. ARGV: channel, app. → the app's domains, or false if no app. */
export const DELETE_APP: ScriptDef = {
  numberOfKeys: 4,
  lua: `${BUMP}
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local domains = redis.call('SMEMBERS', KEYS[2])
bump(KEYS[1], ARGV[1], ARGV[2])
-- bump() published first; the keys go in the same atomic step, so no reader sees the event before the delete.
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
return domains`,
};

/** KEYS: app, domains. ARGV: channel, app, host. → 1 added, 0 already there, false if no app. */
export const ATTACH_DOMAIN: ScriptDef = {
  numberOfKeys: 2,
  lua: `${BUMP}
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local added = redis.call('SADD', KEYS[2], ARGV[3])
if added == 1 then bump(KEYS[1], ARGV[1], ARGV[2]) end
return added`,
};

/** KEYS: app, domains. ARGV: channel, app, host. → 1 removed, 0 not there, false if no app. */
export const DETACH_DOMAIN: ScriptDef = {
  numberOfKeys: 2,
  lua: `${BUMP}
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local removed = redis.call('SREM', KEYS[2], ARGV[3])
if removed == 1 then bump(KEYS[1], ARGV[1], ARGV[2]) end
return removed`,
};

/**
 * KEYS: app, dynos, leases. ARGV: channel, app, dyno, json, expiry ms, gc-before ms.
 * → 1 created, 0 updated, false if no app. Dynos whose lease ended before gc-before are
 * dropped here, so dynos that vanished without deregistering do not pile up.
 */
export const PUT_DYNO: ScriptDef = {
  numberOfKeys: 3,
  lua: `${BUMP}
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local created = redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[6])
for _, d in ipairs(dead) do
  redis.call('HDEL', KEYS[2], d)
  redis.call('ZREM', KEYS[3], d)
end
bump(KEYS[1], ARGV[1], ARGV[2])
return created`,
};

/** KEYS: app, dynos, leases. ARGV: channel, app, dyno. → 1 removed, 0 not there, false if no app. */
export const DELETE_DYNO: ScriptDef = {
  numberOfKeys: 3,
  lua: `${BUMP}
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local removed = redis.call('HDEL', KEYS[2], ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[3])
if removed == 1 then bump(KEYS[1], ARGV[1], ARGV[2]) end
return removed`,
};

/** KEYS: domain:HOST. ARGV: app. Deletes the key only while that app owns it. */
export const RELEASE_DOMAIN: ScriptDef = {
  numberOfKeys: 1,
  lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
};

/**
 * KEYS: app, domains, dynos, leases of one or more apps, four by four. → one JSON text: per app
 * false (no app) or [hash, domains, dynos, leases] as flat arrays (an empty one encodes as {}).
 * A full load is bound by the client's per-reply cost: one JSON.parse per call beats a million
 * bulk strings. A single node loads hundreds of apps per call; on Cluster each call carries one
 * app (one hash tag), since keys of many apps live in many slots.
 */
export const LOAD_APPS: ScriptDef = {
  numberOfKeys: -1,
  lua: `local out = {}
for i = 1, #KEYS, 4 do
  local h = redis.call('HGETALL', KEYS[i])
  if #h == 0 then
    out[#out + 1] = false
  else
    out[#out + 1] = {h, redis.call('SMEMBERS', KEYS[i + 1]), redis.call('HGETALL', KEYS[i + 2]), redis.call('ZRANGE', KEYS[i + 3], 0, -1, 'WITHSCORES')}
  end
end
return cjson.encode(out)`,
};
