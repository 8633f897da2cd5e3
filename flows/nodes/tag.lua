-- tag: adds a tag to the contact (nothing changes when it has it already).
return function(ctx, config)
  local name = ctx.template(config.tag):match("^%s*(.-)%s*$")
  if name == "" then
    error("tag: the tag name is empty once its {{...}} values are filled in", 0)
  end
  ctx.tag(name)
  return "next"
end
