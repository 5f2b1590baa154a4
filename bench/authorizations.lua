-- wrk's load for POST /authorizations, in the mix `zentra-bench authorizations` sends
-- (BenchFixtures): a random card of the bench's, a random amount, 7% at a gambling merchant (the
-- bench program blocks gambling: declined), 1% repeating one of the thread's recent requests as
-- it was sent (answered with the first decision).
-- Usage: wrk -s bench/authorizations.lua URL -- CARDS_FILE NETWORK_KEY RUN_TAG
local next_thread = 1

function setup(thread)
   thread:set("thread_number", next_thread)
   next_thread = next_thread + 1
end

local cards, recent = {}, {}
local counter, tag = 0, ""

function init(args)
   for line in io.lines(args[1]) do cards[#cards + 1] = line end
   wrk.method = "POST"
   wrk.path = "/authorizations"
   wrk.headers["Authorization"] = "Bearer " .. args[2]
   wrk.headers["Content-Type"] = "application/json"
   tag = args[3] .. "-" .. tostring(thread_number)
   math.randomseed(os.time() * 1000 + thread_number)
end

function request()
   counter = counter + 1
   local roll = math.random(0, 99)
   if roll < 1 and #recent > 0 then
      return wrk.format(nil, nil, nil, recent[math.random(#recent)])
   end
   local mcc = roll >= 93 and "7995" or "5411"
   local body = string.format('{"card":"%s","amount_minor":%d,"currency":"USD","channel":"online","merchant":'
      .. '{"id":"m_bench","name":"Bench Store","mcc":"%s","country":"US","city":"Austin"},"network_reference":"%s"}',
      cards[math.random(#cards)], math.random(1, 500), mcc, tag .. "-" .. counter)
   recent[(counter % 100) + 1] = body
   return wrk.format(nil, nil, nil, body)
end
