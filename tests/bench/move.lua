-- wrk script: one-move batches, one panorama per wrk thread (run with
-- as many connections as threads, so that a thread's batches are
-- sequential and each names the version the previous one returned).
-- PANORAMAS="ID VERSION MOVED AFTER;..." and TOKEN come from the
-- environment (tests/bench/run).  Each batch moves MOVED to the first
-- place, then after AFTER, and so on: the tree keeps its shape.
local counter = 0
local threads = {}

function setup(thread)
	counter = counter + 1
	thread:set("index", counter)
	table.insert(threads, thread)
end

function init(args)
	local i = 0
	for spec in string.gmatch(os.getenv("PANORAMAS"), "[^;]+") do
		i = i + 1
		if i == index then
			local a, b, c, d = string.match(spec,
			    "(%d+) (%d+) (%d+) (%d+)")
			pid, version, moved, after = a, tonumber(b), c, d
		end
	end
	token = os.getenv("TOKEN")
	flip = false
end

function request()
	local where = flip and ('"' .. after .. '"') or "null"
	local body = '{"version": ' .. version .. ', "actions": [{"op": ' ..
	    '"move", "node": "' .. moved .. '", "parent": null, "after": ' ..
	    where .. '}]}'
	return wrk.format("POST", "/api/panoramas/" .. pid .. "/actions",
	    { ["Authorization"] = "JWT " .. token,
	      ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
	local v = string.match(body, '"version":%s*(%d+)')
	if v then
		version = tonumber(v)
	end
	if status == 200 then
		flip = not flip
	end
end
