-- untag: removes a tag from the contact (nothing changes when it does not have it).
return function(ctx, config)
  local name = ctx.template(config.tag):match("^%s*(.-)%s*$")
  if name == "" then
    error("untag: the tag name is empty once its {{...}} values are filled in", 0)
  end
  ctx.untag(name)
  return "next"
end
