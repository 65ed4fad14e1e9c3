# cmake/install.cmake — install rules, pkg-config file and CMake package config.
