-- subflow: runs another flow in this conversation; when that flow ends, the
-- engine continues this execution at this node's "next" port.
return function(ctx, config)
  return ctx.subflow(config.flow)
end
