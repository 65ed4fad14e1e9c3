! ringdrop_c: Fortran interfaces (iso_c_binding) for the functions of the
! ringdrop C ABI (bindings/c/include/ringdrop.h) a publisher (producer) and
! a subscriber (consumer) need, the options struct as a bind(C) derived
! type, and a helper that turns a C string into a Fortran one.
!
! Mapping of the C types (gfortran, x86-64 / aarch64 Linux, LP64):
!   int                 -> integer(c_int)
!   unsigned int        -> integer(c_int)        (Fortran has no unsigned:
!   unsigned long       -> integer(c_long)        same size, and every value
!   unsigned long long  -> integer(c_long_long)   used here is small)
!   long long           -> integer(c_long_long)
!   const char*         -> character(kind=c_char), dimension(*), ending in
!                          c_null_char (trim(name)//c_null_char)
!   ringdrop_ring*      -> type(c_ptr), passed by value; its address
!                          (ringdrop_ring**) is a type(c_ptr) without value
!   const void* data    -> type(c_ptr), value (c_loc of a target)
! Every argument the C side takes by value carries the `value` attribute;
! without it, Fortran passes an address and the C side reads garbage.
module ringdrop_c
  use, intrinsic :: iso_c_binding
  implicit none
  private

  ! ringdrop.h constants (only those used by the examples).
  integer(c_int), parameter, public :: RINGDROP_OK = 0
  integer(c_int), parameter, public :: RINGDROP_ETIMEDOUT = -2
  integer(c_int), parameter, public :: RINGDROP_EPEERGONE = -4
  integer(c_int), parameter, public :: RINGDROP_EMSGSIZE = -8
  integer(c_int), parameter, public :: RINGDROP_EMESSAGELOST = -6
  integer(c_int), parameter, public :: RINGDROP_RING_SPSC = 1
  integer(c_int), parameter, public :: RINGDROP_RING_MPMC = 2
  integer(c_int), parameter, public :: RINGDROP_RING_BROADCAST = 3
  integer(c_int), parameter, public :: RINGDROP_ROLE_PRODUCER = 1
  integer(c_int), parameter, public :: RINGDROP_ROLE_CONSUMER = 2
  integer(c_int), parameter, public :: RINGDROP_OPEN = 0
  integer(c_int), parameter, public :: RINGDROP_CREATE = 1
  integer(c_int), parameter, public :: RINGDROP_OPEN_OR_CREATE = 2
  integer(c_int), parameter, public :: RINGDROP_WAIT_SPIN_BLOCK = 0

  ! struct ringdrop_ring_options, field for field. bind(C) gives it C's
  ! layout, padding included (4 bytes after wait_mode): never reorder.
  ! Fill it with ringdrop_ring_options_init, then change what you need.
  type, bind(C), public :: ringdrop_ring_options
    integer(c_long) :: size                   ! unsigned long, set by _init
    integer(c_long_long) :: capacity          ! unsigned long long
    integer(c_int) :: cell_size               ! unsigned int
    integer(c_int) :: file_backed
    integer(c_int) :: wait_mode
    integer(c_long_long) :: spin_ns
    integer(c_long_long) :: liveness_ns
    integer(c_int) :: overwrite
    integer(c_int) :: drop_on_consumer_death
    integer(c_int) :: start_at_oldest
    integer(c_int) :: mode                    ! unsigned int
  end type ringdrop_ring_options

  public :: ringdrop_version, ringdrop_strerror, ringdrop_last_error_message
  public :: ringdrop_ring_options_init, ringdrop_ring_open, ringdrop_ring_close
  public :: ringdrop_ring_max_message_size, ringdrop_ring_send
  public :: ringdrop_ring_receive, ringdrop_ring_read, ringdrop_ring_release
  public :: ringdrop_ring_last_missed
  public :: c_string

  interface
    ! int ringdrop_version(void);
    function ringdrop_version() bind(C, name="ringdrop_version") result(v)
      import :: c_int
      integer(c_int) :: v
    end function

    ! const char* ringdrop_strerror(int code);
    function ringdrop_strerror(code) bind(C, name="ringdrop_strerror") result(text)
      import :: c_int, c_ptr
      integer(c_int), value :: code
      type(c_ptr) :: text
    end function

    ! const char* ringdrop_last_error_message(void);
    function ringdrop_last_error_message() bind(C, name="ringdrop_last_error_message") result(text)
      import :: c_ptr
      type(c_ptr) :: text
    end function

    ! void ringdrop_ring_options_init(ringdrop_ring_options* options);
    subroutine ringdrop_ring_options_init(options) bind(C, name="ringdrop_ring_options_init")
      import :: ringdrop_ring_options
      type(ringdrop_ring_options), intent(out) :: options
    end subroutine

    ! int ringdrop_ring_open(const char* name, int kind, int role, int how,
    !                        const ringdrop_ring_options* options, ringdrop_ring** ring);
    function ringdrop_ring_open(name, kind, role, how, options, ring) &
        bind(C, name="ringdrop_ring_open") result(rc)
      import :: c_char, c_int, c_ptr, ringdrop_ring_options
      character(kind=c_char), dimension(*), intent(in) :: name
      integer(c_int), value :: kind, role, how
      type(ringdrop_ring_options), intent(in) :: options
      type(c_ptr), intent(out) :: ring
      integer(c_int) :: rc
    end function

    ! void ringdrop_ring_close(ringdrop_ring* ring);
    subroutine ringdrop_ring_close(ring) bind(C, name="ringdrop_ring_close")
      import :: c_ptr
      type(c_ptr), value :: ring
    end subroutine

    ! int ringdrop_ring_max_message_size(const ringdrop_ring* ring, unsigned long long* size);
    function ringdrop_ring_max_message_size(ring, size) &
        bind(C, name="ringdrop_ring_max_message_size") result(rc)
      import :: c_int, c_long_long, c_ptr
      type(c_ptr), value :: ring
      integer(c_long_long), intent(out) :: size
      integer(c_int) :: rc
    end function

    ! int ringdrop_ring_send(ringdrop_ring* ring, const void* data,
    !                        unsigned long long size, long long timeout_ns);
    function ringdrop_ring_send(ring, data, size, timeout_ns) &
        bind(C, name="ringdrop_ring_send") result(rc)
      import :: c_int, c_long_long, c_ptr
      type(c_ptr), value :: ring
      type(c_ptr), value :: data
      integer(c_long_long), value :: size
      integer(c_long_long), value :: timeout_ns
      integer(c_int) :: rc
    end function

    ! int ringdrop_ring_receive(ringdrop_ring* ring, void* buffer,
    !                           unsigned long long capacity,
    !                           unsigned long long* size, long long timeout_ns);
    ! Copies the next message into `buffer` (c_loc of a target); its size
    ! into `size`. RINGDROP_EMSGSIZE (size = what it needs) when it does not
    ! fit: the message stays for the next call.
    function ringdrop_ring_receive(ring, buffer, capacity, size, timeout_ns) &
        bind(C, name="ringdrop_ring_receive") result(rc)
      import :: c_int, c_long_long, c_ptr
      type(c_ptr), value :: ring
      type(c_ptr), value :: buffer
      integer(c_long_long), value :: capacity
      integer(c_long_long), intent(out) :: size
      integer(c_long_long), value :: timeout_ns
      integer(c_int) :: rc
    end function

    ! int ringdrop_ring_read(ringdrop_ring* ring, long long timeout_ns,
    !                        const void** data, unsigned long long* size);
    ! Zero-copy: `data` points at the message inside the ring (c_f_pointer
    ! it onto a bind(C) type or an array), valid until ringdrop_ring_release.
    function ringdrop_ring_read(ring, timeout_ns, data, size) &
        bind(C, name="ringdrop_ring_read") result(rc)
      import :: c_int, c_long_long, c_ptr
      type(c_ptr), value :: ring
      integer(c_long_long), value :: timeout_ns
      type(c_ptr), intent(out) :: data
      integer(c_long_long), intent(out) :: size
      integer(c_int) :: rc
    end function

    ! int ringdrop_ring_release(ringdrop_ring* ring);
    ! Hands back everything read. A broadcast subscriber gets
    ! RINGDROP_EMESSAGELOST here when the publisher overwrote the message
    ! while it was being read (overwrite policy): the data seen is void.
    function ringdrop_ring_release(ring) bind(C, name="ringdrop_ring_release") result(rc)
      import :: c_int, c_ptr
      type(c_ptr), value :: ring
      integer(c_int) :: rc
    end function

    ! int ringdrop_ring_last_missed(const ringdrop_ring* ring, unsigned long long* missed);
    function ringdrop_ring_last_missed(ring, missed) &
        bind(C, name="ringdrop_ring_last_missed") result(rc)
      import :: c_int, c_long_long, c_ptr
      type(c_ptr), value :: ring
      integer(c_long_long), intent(out) :: missed
      integer(c_int) :: rc
    end function

    ! size_t strlen(const char*), for c_string.
    function c_strlen(s) bind(C, name="strlen") result(n)
      import :: c_ptr, c_size_t
      type(c_ptr), value :: s
      integer(c_size_t) :: n
    end function
  end interface

contains

  ! The NUL-terminated C string at `p` as a Fortran string ("" for NULL).
  function c_string(p) result(s)
    type(c_ptr), intent(in) :: p
    character(len=:), allocatable :: s
    character(kind=c_char), pointer :: chars(:)
    integer :: n, i
    if (.not. c_associated(p)) then
      s = ""
      return
    end if
    n = int(c_strlen(p))
    call c_f_pointer(p, chars, [n])
    allocate(character(len=n) :: s)
    do i = 1, n
      s(i:i) = chars(i)
    end do
  end function c_string

end module ringdrop_c
