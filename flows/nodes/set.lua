-- set: stores a value in a variable: a JSON value whose strings are
-- templates, or the result of a Lua expression.
return function(ctx, config)
  if config.expression ~= nil then
    ctx.vars[config.variable] = ctx.eval(config.expression)
  else
    ctx.vars[config.variable] = ctx.template_value(config.value)
  end
  return "next"
end
