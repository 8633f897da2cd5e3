// Replaced by the real entry point (host/app) shortly.
int main() { return 0; }
