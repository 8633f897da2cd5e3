-- send_media: sends an image, video, audio file or document by its URL.
return function(ctx, config)
  local url = ctx.template(config.url)
  if not url:match("^[Hh][Tt][Tt][Pp][Ss]?://") then
    error(("send_media: the url %q is not an http:// or https:// address"):format(url), 0)
  end
  local function optional(s)
    local expanded = s and ctx.template(s)
    if expanded == "" then return nil end
    return expanded
  end
  ctx.send({
    type = config.media_type,
    url = url,
    caption = optional(config.caption),
    filename = optional(config.filename),
  })
  return "next"
end
