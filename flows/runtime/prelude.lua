-- The ctx API, as every node, inline `lua` node, expression and Lua flow sees
-- it (docs/flows.md, "The ctx API"). Trusted code: loaded once per Lua state
-- by host/flows/engine.cpp, which passes HOST (its C functions) and gets the
-- table P below back. One run at a time uses a state, so the run in
-- progress lives in RUN.
--
-- Replay: every ctx call that does something or reads the outside world
-- takes the next journal slot. A slot that is already filled (the scope is
-- being replayed after a wait) returns what it recorded; an empty one does
-- the work and records its result. Waits raise a control signal that ends
-- the run; the engine stores the journal, and on resume appends the awaited
-- result, which the waiting call then finds in its slot.
local HOST = ...
local json = json
local signal = __sb_signal
local type, tostring, error, pairs, ipairs, select = type, tostring, error, pairs, ipairs, select
local setmetatable, rawget, load = setmetatable, rawget, load
local floor = math.floor
local find, gsub, gmatch, sub, format = string.find, string.gsub, string.gmatch, string.sub, string.format
local tointeger = math.tointeger
local concat = table.concat

local RUN = {cursor = 0, journal = {}}
local methods = {}
local ctx_mt = {__index = methods, __metatable = "ctx"}

local function next_slot()
  local i = RUN.cursor + 1
  RUN.cursor = i
  return i, RUN.journal[i]
end

local function record(i, value)
  RUN.journal[i] = value
  return value
end

local function require_wait(name)
  if not RUN.may_wait then
    error(name .. " can only be used by a node type declared as waiting (\"waits\": true)", 3)
  end
end

local function seconds_to_ms(value, what)
  if value == nil then return nil end
  if type(value) ~= "number" or value < 0 then
    error(what .. " must be a number of seconds (0 or more)", 3)
  end
  return floor(value * 1000)
end

-- Effects -------------------------------------------------------------------

function methods.send(message)
  local i, done = next_slot()
  if done ~= nil then return done end
  return record(i, HOST.send(message))
end

-- Keeps ctx.contact.tags in step with what the run did (sorted, unique).
local function retag(name, add)
  local contact = RUN.ctx.contact
  if type(contact) ~= "table" then return end
  local tags = json.array()
  local present = false
  for _, tag in ipairs(contact.tags or {}) do
    if tag == name then present = true end
    if tag ~= name or add then tags[#tags + 1] = tag end
  end
  if add and not present then
    tags[#tags + 1] = name
    table.sort(tags)
  end
  contact.tags = tags
end

function methods.tag(name)
  local i, done = next_slot()
  if done ~= nil then return end
  HOST.tag(name, true)
  retag(name, true)
  record(i, true)
end

function methods.untag(name)
  local i, done = next_slot()
  if done ~= nil then return end
  HOST.tag(name, false)
  retag(name, false)
  record(i, true)
end

-- With options.error the run ends failed with that error after handing
-- off (a fallback that still records what went wrong).
function methods.handoff(options)
  local note = options and options.note
  HOST.handoff(note)
  if options and options.error then error(options.error, 0) end
  signal("end", {})
end

function methods.log(level, text)
  if text == nil then level, text = "info", level end
  local i, done = next_slot()
  if done ~= nil then return end
  HOST.log(level, text)
  record(i, true)
end

local kv = {}
function kv.get(key)
  local i, done = next_slot()
  if done == nil then done = record(i, {v = HOST.kv_get(key)}) end
  return done.v
end
function kv.set(key, value)
  local i, done = next_slot()
  if done ~= nil then return end
  HOST.kv_set(key, value)
  record(i, true)
end
function kv.delete(key)
  local i, done = next_slot()
  if done ~= nil then return end
  HOST.kv_set(key, nil)
  record(i, true)
end
methods.kv = setmetatable({}, {__index = kv, __newindex = function() error("ctx.kv is read-only", 2) end,
                                __metatable = "ctx.kv"})

-- Waits ---------------------------------------------------------------------

function methods.ask(prompt, options)
  local i, done = next_slot()
  if done ~= nil then return done end
  require_wait("ctx.ask")
  local timeout = seconds_to_ms(options and options.timeout, "ctx.ask's timeout")
  if prompt ~= nil then HOST.send(prompt) end
  signal("wait", {kind = "reply", timeout_ms = (timeout ~= 0) and timeout or nil})
end

function methods.delay(seconds)
  local i, done = next_slot()
  if done ~= nil then return end
  require_wait("ctx.delay")
  local ms = seconds_to_ms(seconds, "ctx.delay's argument")
  if ms == nil then error("ctx.delay needs a number of seconds", 2) end
  signal("wait", {kind = "delay", delay_ms = ms})
end

function methods.http(request)
  local i, done = next_slot()
  if done ~= nil then return done end
  require_wait("ctx.http")
  if type(request) ~= "table" then error("ctx.http needs a table {method=, url=, ...}", 2) end
  signal("wait", {kind = "http", request = HOST.http_request(request)})
end

-- AI ------------------------------------------------------------------------
-- Both wait while the knowledge base answers (a remote provider may take
-- seconds), like ctx.http, and return the result table; a provider that
-- fails gives {error = "..."} rather than raising, so that the node decides
-- the fallback.

local function ai_call(name, op, options)
  local i, done = next_slot()
  if done ~= nil then return done end
  require_wait(name)
  if type(options) ~= "table" then error(name .. " needs a table of options", 3) end
  local message = RUN.ctx.message
  local request = {}
  for k, v in pairs(options) do request[k] = v end
  if type(message) == "table" then
    request.message_id = request.message_id or message.id
    if op == "reply" then request.question = request.question or message.text end
    if op == "classify" then request.text = request.text or message.text end
  end
  signal("wait", {kind = "ai", request = HOST.ai_request(op, request)})
end

function methods.ai_reply(options) return ai_call("ctx.ai_reply", "reply", options) end
function methods.ai_classify(options) return ai_call("ctx.ai_classify", "classify", options) end

-- Clock ---------------------------------------------------------------------

function methods.now()
  local i, done = next_slot()
  if done ~= nil then return done end
  return record(i, HOST.now())
end

function methods.local_time()
  local i, done = next_slot()
  if done ~= nil then return done end
  return record(i, HOST.local_time())
end

-- Pure helpers --------------------------------------------------------------

local function render(value)
  local t = type(value)
  if t == "string" then return value end
  if t == "number" or t == "boolean" then return tostring(value) end
  if value == json.null then return "" end
  if t == "table" then return json.encode(value) end
  return tostring(value)
end

-- Templates are compiled once per text (per state, bounded like the
-- compiled chunks below) into literal pieces and paths split into keys, so
-- that expanding one is table lookups and a concat: no pattern matching and
-- no closures per call.

-- "contact.name", "vars.items[0].title": dotted names with 0-based indexes,
-- as keys ({"vars", "items", 1, "title"}); false for a path that names
-- nothing (it always renders as missing).
local function compile_path(path)
  local keys = {}
  for part in gmatch(path, "[^%.]+") do
    local name, rest = part:match("^([%w_]*)(.*)$")
    if name == nil then return false end
    if name ~= "" then keys[#keys + 1] = name end
    for index in gmatch(rest, "%[(%d+)%]") do keys[#keys + 1] = tointeger(index) + 1 end
    if rest ~= "" and not find(rest, "^%[%d+%]") then return false end
  end
  return keys
end

local function compile_template(text)
  local pieces, pos = {}, 1
  while true do
    local s, e, path = find(text, "{{%s*([^{}]-)%s*}}", pos)
    if not s then break end
    if s > pos then pieces[#pieces + 1] = sub(text, pos, s - 1) end
    pieces[#pieces + 1] = {path = path, keys = compile_path(path)}
    pos = e + 1
  end
  if pos <= #text then pieces[#pieces + 1] = sub(text, pos) end
  return pieces
end

local templates, template_count = {}, 0

local function template(text)
  if type(text) ~= "string" then return text end
  local pieces = templates[text]
  if pieces == nil then
    if not find(text, "{{", 1, true) then return text end
    pieces = compile_template(text)
    if template_count >= 512 then templates, template_count = {}, 0 end
    templates[text] = pieces
    template_count = template_count + 1
  end
  local ctx = RUN.ctx
  local out = {}
  for i = 1, #pieces do
    local piece = pieces[i]
    if type(piece) == "string" then
      out[i] = piece
    else
      local value, keys = ctx, piece.keys
      if keys then
        for k = 1, #keys do
          if type(value) ~= "table" then value = nil break end
          value = value[keys[k]]
          if value == nil then break end
        end
      else
        value = nil
      end
      if value == nil then
        HOST.warn("template names {{" .. piece.path .. "}}, which is not set")
        out[i] = ""
      else
        out[i] = render(value)
      end
    end
  end
  return concat(out)
end
methods.template = template

local function template_value(value)
  local t = type(value)
  if t == "string" then return template(value) end
  if t ~= "table" or value == json.null then return value end
  local out = {}
  for k, v in pairs(value) do out[k] = template_value(v) end
  if json.is_array(value) then json.array(out) end
  return out
end
methods.template_value = template_value

function methods.regex(pattern, text, options)
  if type(pattern) ~= "string" or type(text) ~= "string" then
    error("ctx.regex needs a pattern and a text (strings)", 2)
  end
  return HOST.regex(pattern, text, options ~= nil and options.case_sensitive == true)
end

function methods.resource(slot)
  local node = RUN.node
  local resources = node and node.resources
  return resources and resources[slot]
end

-- User code: expressions and inline Lua --------------------------------------

-- Compiled chunks are cached per state; their _ENV is a proxy that reaches
-- the environment of the run in progress, so a cached chunk never sees
-- another run's globals.
local user_env_proxy = setmetatable({}, {
  __index = function(_, k) return RUN.env[k] end,
  __newindex = function(_, k, v) RUN.env[k] = v end,
  __metatable = "env",
})
local eval_scope = setmetatable({}, {
  __index = function(_, k)
    local ctx = RUN.ctx
    if k == "vars" or k == "contact" or k == "message" or k == "conversation" or k == "trigger" then
      return ctx[k]
    elseif k == "now" then
      return methods.now()
    elseif k == "time" then
      return methods.local_time()
    end
    return RUN.env[k]
  end,
  __newindex = function() error("expressions cannot assign variables; use a set node", 2) end,
  __metatable = "scope",
})

local compiled = {}  -- [kind .. source] = function
local compiled_count = 0

local function compile(kind, source, env, chunk_name)
  local key = kind .. "\0" .. source
  local fn = compiled[key]
  if fn then return fn end
  local err
  fn, err = load(source, chunk_name, "t", env)
  if not fn then error(err, 0) end
  if compiled_count >= 512 then compiled, compiled_count = {}, 0 end
  compiled[key] = fn
  compiled_count = compiled_count + 1
  return fn
end

function methods.eval(expression)
  if type(expression) ~= "string" then error("ctx.eval needs an expression (a string)", 2) end
  local fn = compile("expr", "return " .. expression, eval_scope, "=expression")
  return fn()
end

function methods.run_lua(code)
  if type(code) ~= "string" then error("ctx.run_lua needs Lua code (a string)", 2) end
  local node = RUN.node
  local fn = compile("lua", code, user_env_proxy, "=node " .. (node and node.id or "lua"))
  return fn(RUN.ctx)
end

function methods.subflow(flow_id)
  if type(flow_id) ~= "string" or flow_id == "" then error("ctx.subflow needs a flow id", 2) end
  if not RUN.graph then error("ctx.subflow is for the subflow node of graph flows", 2) end
  signal("subflow", {flow = flow_id})
end

methods.json = json

-- Entry points for the engine ------------------------------------------------

local P = {}

-- Starts a run: `data` = {message, contact, conversation, trigger, workspace,
-- flow}; `vars` the variables. Returns the ctx.
function P.begin(data, vars, env, graph)
  local ctx = setmetatable({
    vars = vars, message = data.message, contact = data.contact, conversation = data.conversation,
    trigger = data.trigger or {}, workspace = data.workspace or {}, flow = data.flow or {},
  }, ctx_mt)
  env.ctx = ctx
  RUN = {ctx = ctx, env = env, journal = {}, cursor = 0, graph = graph, may_wait = false}
  return ctx
end

-- One node: runs fn(ctx, config) with the node's journal (nil: a fresh one).
function P.step(fn, config, node, may_wait, journal)
  local run = RUN
  run.node = node
  run.ctx.node = node.info
  run.may_wait = may_wait
  run.cursor = 0
  run.journal = journal or {}
  return fn(run.ctx, config)
end

-- A Lua flow's main function (the chunk is run again to get it, so that the
-- file's locals are fresh for every run).
function P.main(chunk, journal)
  local run = RUN
  run.node = nil
  run.may_wait = true
  run.cursor = 0
  run.journal = journal or {}
  local definition = chunk()
  if type(definition) ~= "table" or type(definition.main) ~= "function" then
    error("the flow file must return a table with a main function", 0)
  end
  return definition.main(run.ctx)
end

P.user_env = user_env_proxy
function P.journal() return RUN.journal end
function P.vars() return RUN.ctx.vars end
function P.set_vars(vars) RUN.ctx.vars = vars end
function P.set_error(node_id, message)
  RUN.ctx.vars.last_error = {node = node_id, message = message}
end
function P.finish() RUN = {cursor = 0, journal = {}} end

return P
