// Routes of this resource: being written (see host/api/api_context.hpp).
#include "api/api_context.hpp"

namespace sb::api {

void register_profile_routes(ApiRoutes&) {}

}  // namespace sb::api
