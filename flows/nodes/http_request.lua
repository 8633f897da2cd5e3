-- http_request: calls an HTTP API and saves the answer in a variable; "ok"
-- for a 2xx status, "error" for any other status or no answer at all.

local function is_absolute(url)
  return url:lower():match("^https?://") ~= nil
end

-- base_url + path with exactly one slash between them.
local function join(base, path)
  if path == "" or path:sub(1, 1) == "?" then return base .. path end
  return base:gsub("/+$", "") .. "/" .. path:gsub("^/+", "")
end

-- Sets a header, replacing one of the same name in any letter case.
local function put_header(headers, name, value)
  for existing in pairs(headers) do
    if existing:lower() == name:lower() then headers[existing] = nil end
  end
  headers[name] = value
end

return function(ctx, config)
  local url = ctx.template(config.url)
  local headers = {}
  if not is_absolute(url) then
    local api = ctx.resource("api")
    if not (api and api.base_url) then
      error(("http_request: the url %q does not start with http:// or https://, and the node names no \"api\" resource with a base_url"):format(url), 0)
    end
    url = join(api.base_url, url)
    -- The resource's headers (an API key, say) go only to the resource's own
    -- base URL, never to an absolute URL that may point anywhere.
    for name, value in pairs(api.headers or {}) do put_header(headers, name, value) end
  end
  for name, value in pairs(config.headers or {}) do put_header(headers, name, ctx.template(value)) end

  local method = config.method or "GET"
  local request = {method = method, url = url, headers = headers, timeout = config.timeout_seconds or 10}
  if type(config.body) == "string" then
    request.body = ctx.template(config.body)
  elseif config.body ~= nil then
    request.json = ctx.template_value(config.body)
  end

  local response = ctx.http(request)
  local status = response.status or 0
  ctx.vars[config.save_as or "http"] = {
    status = status, body = response.body, json = response.json, error = response.error,
  }
  if status >= 200 and status < 300 then return "ok" end
  -- The query string is left out of the log: it may carry a key.
  ctx.log("warn", ("http_request: %s %s: %s"):format(method, (url:gsub("%?.*$", "")),
    response.error or ("status " .. status)))
  return "error"
end
