-- send_location: a pin on the map, with an optional name and address.
-- Latitude and longitude are numbers or templates that come out as numbers.

local function coordinate(ctx, value, key, limit)
  local n = value
  if type(value) == "string" then n = tonumber((ctx.template(value):gsub("^%s+", ""):gsub("%s+$", ""))) end
  if type(n) ~= "number" or n ~= n or n < -limit or n > limit then
    error(("send_location: the %s %q is not a number between -%d and %d"):format(key, tostring(
      type(value) == "string" and ctx.template(value) or value), limit, limit), 0)
  end
  return n
end

local function optional(ctx, s)
  local expanded = s and ctx.template(s)
  if expanded == "" then return nil end
  return expanded
end

return function(ctx, config)
  ctx.send({
    type = "location",
    latitude = coordinate(ctx, config.latitude, "latitude", 90),
    longitude = coordinate(ctx, config.longitude, "longitude", 180),
    name = optional(ctx, config.name),
    address = optional(ctx, config.address),
  })
  return "next"
end
